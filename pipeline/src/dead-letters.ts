// Dead letters: a record that cannot be processed is copied, bytes untouched, to the DLQ topic with
// the reason and its source topic/partition/offset in headers, and counted. It never stops a consumer.
import { DLQ_HEADERS } from "@skystream/schemas";
import { Counter, type Producer, type BusMessage, type OutMessage, type MetricsRegistry } from "@skystream/common";

export interface DeadLetter {
  message: BusMessage;
  reason: string;
  error: string;
}

export class DeadLetters {
  private readonly counter: Counter<"reason" | "stage">;

  constructor(
    private readonly producer: Producer,
    readonly topic: string,
    private readonly stage: string,
    registry: MetricsRegistry,
  ) {
    this.counter =
      (registry.getSingleMetric("skystream_dlq_records_total") as Counter<"reason" | "stage"> | undefined) ??
      new Counter({
        name: "skystream_dlq_records_total",
        help: "Records sent to the dead-letter topic, by reason",
        labelNames: ["reason", "stage"],
        registers: [registry],
      });
  }

  toMessage(d: DeadLetter): OutMessage {
    return {
      key: d.message.key,
      value: d.message.value ?? Buffer.alloc(0),
      headers: {
        ...d.message.headers,
        [DLQ_HEADERS.reason]: d.reason,
        [DLQ_HEADERS.error]: d.error.slice(0, 1000),
        [DLQ_HEADERS.topic]: d.message.topic,
        [DLQ_HEADERS.partition]: String(d.message.partition),
        [DLQ_HEADERS.offset]: d.message.offset,
        [DLQ_HEADERS.stage]: this.stage,
      },
    };
  }

  /** Produces the letters; resolves once the broker has them. */
  async send(letters: DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    await this.producer.send(
      this.topic,
      letters.map((d) => this.toMessage(d)),
    );
    for (const d of letters) this.counter.inc({ reason: d.reason, stage: this.stage });
  }
}
