// Encodes FlowRecords (Avro, Confluent framing) and produces them keyed by TrackingID, so every update
// of a conversation lands in one partition, in order. send() resolves once the broker has them.
import { FLOW_RECORD, type AvroCodec, type FlowRecord } from "@skystream/schemas";
import { Counter, errorMessage, retry, type Logger, type MetricsRegistry, type OutMessage, type Producer } from "@skystream/common";

export class FlowPublisher {
  private readonly published: Counter<"topic">;
  private readonly errors: Counter<"topic">;

  constructor(
    private readonly producer: Producer,
    private readonly codec: AvroCodec,
    private readonly topic: string,
    private readonly log: Logger,
    registry: MetricsRegistry,
  ) {
    this.published = new Counter({ name: "skystream_agent_flows_published_total", help: "Flow records acknowledged by Kafka", labelNames: ["topic"], registers: [registry] });
    this.errors = new Counter({ name: "skystream_agent_publish_errors_total", help: "Failed produce attempts (retried)", labelNames: ["topic"], registers: [registry] });
  }

  encode(flows: FlowRecord[]): OutMessage[] {
    return flows.map((f) => ({ key: f.TrackingID, value: this.codec.encode(FLOW_RECORD, f) }));
  }

  async publish(flows: FlowRecord[]): Promise<void> {
    const messages = this.encode(flows);
    await retry(() => this.producer.send(this.topic, messages), {
      initialMs: 200,
      maxMs: 10_000,
      onError: (err, attempt, wait) => {
        this.errors.inc({ topic: this.topic });
        this.log.error({ err: errorMessage(err), attempt, retry_in_ms: wait }, "publishing flows failed; retrying (probes wait)");
      },
    });
    this.published.inc({ topic: this.topic }, flows.length);
  }
}
