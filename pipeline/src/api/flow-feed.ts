// Enriched flows as they are published (skystream.flows.enriched.v1), for /ws/subscriber/flow: read with
// a group of the API's own from the topic's end, started by the first subscriber. Records from before
// the start (a bus that replays from its beginning) are skipped.
import { randomUUID } from "node:crypto";
import { FLOW_RECORD, type AvroCodec, type FlowRecord } from "@skystream/schemas";
import { errorMessage, type Bus, type Consumer, type Logger } from "@skystream/common";

export class FlowFeed {
  private consumer?: Consumer;
  private starting?: Promise<void>;
  private readonly listeners = new Set<(flows: FlowRecord[]) => void>();
  private since = 0;

  constructor(
    private readonly bus: Bus,
    private readonly codec: AvroCodec,
    private readonly topic: string,
    private readonly log: Logger,
    private readonly groupPrefix: string,
  ) {}

  async subscribe(listener: (flows: FlowRecord[]) => void): Promise<() => void> {
    this.listeners.add(listener);
    this.starting ??= this.start();
    await this.starting;
    return () => this.listeners.delete(listener);
  }

  private async start(): Promise<void> {
    this.since = Date.now() - 1000;
    await this.bus.ensureTopics([{ topic: this.topic, partitions: 1, replicationFactor: 1 }]);
    const c = (this.consumer = this.bus.consumer(`${this.groupPrefix}.flows.${randomUUID()}`));
    await c.connect();
    await c.subscribe([this.topic], false);
    await c.run({
      onBatch: async (batch) => {
        await this.codec.prepare(batch.messages.map((m) => m.value));
        const flows: FlowRecord[] = [];
        for (const m of batch.messages) {
          if (!m.value) continue;
          try {
            const f = this.codec.decode<FlowRecord>(m.value, FLOW_RECORD).value;
            if (f.Last >= this.since) flows.push(f);
          } catch (err) {
            this.log.debug({ err: errorMessage(err) }, "unreadable enriched flow skipped");
          }
        }
        if (flows.length > 0) for (const l of this.listeners) l(flows);
      },
    });
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}
