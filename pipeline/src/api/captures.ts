// Captures on demand as the API keeps them, and the other orders of the control topic (the decorations of
// update node rules go through order()). The control topic is the store: agents follow it from its
// beginning, it is keyed by capture UUID (compacted, so a capture's last order is what stays), and the
// API follows it too, keeping the latest order per capture in memory. A create or delete is an order on
// the topic, answered once the API has read it back: what it returns is what every agent will see.
import { randomUUID } from "node:crypto";
import { CONTROL_MESSAGE, type AvroCodec, type Capture, type ControlMessage } from "@skystream/schemas";
import { errorMessage, type Bus, type Consumer, type Logger, type Producer } from "@skystream/common";

/** The key of an order on the control topic: the UUID of the capture or rule it is about. */
export const controlKey = (msg: ControlMessage): string => msg.Capture?.UUID ?? msg.Decoration?.UUID ?? "";

/** The captures in force among the latest orders per key: CAPTURE_SETs whose TTL has not run out. */
export function liveCaptures(latest: Iterable<ControlMessage>, now = Date.now()): Capture[] {
  const out: Capture[] = [];
  for (const m of latest) if (m.Op === "CAPTURE_SET" && m.Capture && !(m.Capture.TTL && now >= m.Capture.CreatedAt + m.Capture.TTL)) out.push(m.Capture);
  return out;
}

export class CaptureRegistry {
  private readonly latest = new Map<string, ControlMessage>();
  private readonly consumer: Consumer;
  private readonly producer: Producer;
  private readonly waiting = new Map<string, () => void>();

  constructor(
    private readonly bus: Bus,
    private readonly codec: AvroCodec,
    private readonly topic: string,
    private readonly log: Logger,
    groupPrefix: string,
  ) {
    this.consumer = bus.consumer(`${groupPrefix}.captures.${randomUUID()}`);
    this.producer = bus.producer();
  }

  async start(): Promise<void> {
    await this.bus.ensureTopics([{ topic: this.topic, partitions: 1, replicationFactor: 1, config: { "cleanup.policy": "compact" } }]);
    await this.producer.connect();
    await this.consumer.connect();
    await this.consumer.subscribe([this.topic], true);
    await this.consumer.run({
      onBatch: async (batch) => {
        await this.codec.prepare(batch.messages.map((m) => m.value));
        for (const m of batch.messages) {
          if (!m.value) continue;
          try {
            const msg = this.codec.decode<ControlMessage>(m.value, CONTROL_MESSAGE).value;
            const key = controlKey(msg);
            this.latest.set(key, msg);
            this.waiting.get(`${msg.Op}/${key}`)?.();
          } catch (err) {
            this.log.warn({ err: errorMessage(err), offset: m.offset }, "unreadable control message skipped");
          }
        }
      },
    });
  }

  /** Captures in force: the last order of each is a CAPTURE_SET whose TTL has not run out. */
  list(now = Date.now()): Capture[] {
    return liveCaptures(this.latest.values(), now);
  }

  get(uuid: string): Capture | undefined {
    return this.list().find((c) => c.UUID === uuid);
  }

  /** Publishes an order (a capture's, or a rule's decoration) and resolves once it has been read back (or after `timeoutMs`, rejecting). */
  async order(msg: ControlMessage, timeoutMs = 10_000): Promise<void> {
    const key = `${msg.Op}/${controlKey(msg)}`;
    const seen = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(key);
        reject(new Error(`the order was sent but not read back within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(key, () => {
        clearTimeout(timer);
        this.waiting.delete(key);
        resolve();
      });
    });
    await this.producer.send(this.topic, [{ key: controlKey(msg), value: this.codec.encode(CONTROL_MESSAGE, msg, this.topic) }]);
    await seen;
  }

  async create(capture: Capture): Promise<Capture> {
    await this.order({ Op: "CAPTURE_SET", Time: Date.now(), Capture: capture });
    return capture;
  }

  async delete(capture: Capture): Promise<void> {
    await this.order({ Op: "CAPTURE_DELETE", Time: Date.now(), Capture: capture });
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
    await this.producer.disconnect();
  }
}
