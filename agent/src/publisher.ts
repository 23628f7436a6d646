// Encodes FlowRecords (Avro, Confluent framing) and produces them keyed by TrackingID, so every update
// of a conversation lands in one partition, in order. publish() returns once the flows are queued;
// it waits only when the send queue is full, which is how a slow broker slows the probes down.
import { FLOW_RECORD, type AvroCodec, type FlowRecord } from "@skystream/schemas";
import { Counter, Gauge, SendQueue, errorMessage, type Logger, type MetricsRegistry, type Producer } from "@skystream/common";

export interface PublisherOptions {
  batchSize: number;
  maxBuffered: number;
  maxInFlight?: number;
}

export class FlowPublisher {
  private readonly queue: SendQueue;

  constructor(
    producer: Producer,
    private readonly codec: AvroCodec,
    private readonly topic: string,
    log: Logger,
    registry: MetricsRegistry,
    opts: PublisherOptions,
  ) {
    const published = new Counter({
      name: "skystream_agent_flows_published_total",
      help: "Flow records acknowledged by Kafka",
      labelNames: ["topic"],
      registers: [registry],
    });
    const errors = new Counter({
      name: "skystream_agent_publish_errors_total",
      help: "Failed produce attempts (retried)",
      labelNames: ["topic"],
      registers: [registry],
    });
    this.queue = new SendQueue(producer, topic, {
      batchSize: opts.batchSize,
      maxBuffered: opts.maxBuffered,
      maxInFlight: opts.maxInFlight ?? 4,
      onSent: (n) => published.inc({ topic }, n),
      onError: (err, attempt, wait) => {
        errors.inc({ topic });
        log.error({ err: errorMessage(err), attempt, retry_in_ms: wait }, "publishing flows failed; retrying (probes wait when the queue is full)");
      },
    });
    const queue = this.queue;
    new Gauge({
      name: "skystream_agent_send_queue_records",
      help: "Flow records waiting for Kafka",
      registers: [registry],
      collect() {
        this.set(queue.size);
      },
    });
  }

  async publish(flows: FlowRecord[]): Promise<void> {
    await this.queue.enqueue(flows.map((f) => ({ key: f.TrackingID, value: this.codec.encode(FLOW_RECORD, f, this.topic) })));
  }

  /** Resolves when every queued flow is acknowledged. */
  flush(): Promise<void> {
    return this.queue.flush();
  }
}
