// A bounded send queue in front of a Producer: callers enqueue and go on, batches go to the broker
// with several requests in flight, and enqueue() waits only when the queue is full (backpressure).
// Failed sends are retried in place, so the order of batches per queue is kept.
import type { OutMessage, Producer } from "./types.js";
import { retry } from "../retry.js";

export interface SendQueueOptions {
  batchSize: number;
  maxInFlight: number;
  maxBuffered: number;
  onError?: (err: unknown, attempt: number, waitMs: number) => void;
  onSent?: (count: number) => void;
}

export class SendQueue {
  private queue: OutMessage[] = [];
  private inFlight = 0;
  private buffered = 0;
  private readonly waiters: (() => void)[] = [];
  private readonly idle: (() => void)[] = [];
  private failure?: unknown;

  constructor(
    private readonly producer: Producer,
    readonly topic: string,
    private readonly opts: SendQueueOptions,
  ) {}

  /** Messages waiting or in flight. */
  get size(): number {
    return this.buffered;
  }

  async enqueue(messages: OutMessage[]): Promise<void> {
    while (this.buffered >= this.opts.maxBuffered) await new Promise<void>((r) => this.waiters.push(r));
    for (const m of messages) this.queue.push(m);
    this.buffered += messages.length;
    this.pump();
  }

  private pump(): void {
    while (this.inFlight < this.opts.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.length <= this.opts.batchSize ? this.queue : this.queue.slice(0, this.opts.batchSize);
      this.queue = batch === this.queue ? [] : this.queue.slice(batch.length);
      this.inFlight++;
      void retry(() => this.producer.send(this.topic, batch), { initialMs: 200, maxMs: 10_000, onError: this.opts.onError })
        .then(
          () => this.opts.onSent?.(batch.length),
          (err: unknown) => (this.failure = err),
        )
        .finally(() => {
          this.inFlight--;
          this.buffered -= batch.length;
          while (this.waiters.length > 0 && this.buffered < this.opts.maxBuffered) this.waiters.shift()!();
          if (this.buffered === 0) while (this.idle.length > 0) this.idle.shift()!();
          this.pump();
        });
    }
  }

  /** Resolves when everything enqueued so far is acknowledged. */
  async flush(): Promise<void> {
    if (this.buffered > 0) await new Promise<void>((r) => this.idle.push(r));
    if (this.failure) throw this.failure;
  }
}
