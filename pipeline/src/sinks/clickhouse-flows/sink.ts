// Consumes FlowRecords and inserts them into {db}.flows in large batches, parsed by ClickHouse itself:
// framed Avro bodies are validated, then concatenated into object containers untouched.
//
// Delivery: offsets are committed only after ClickHouse acknowledged the insert and the dead letters
// of the batch reached the DLQ topic, so a crash replays records rather than losing them
// (at-least-once; replayed identical blocks are dropped by the table's deduplication window).
import { FLOW_RECORD, DecodeError, FRAME_HEADER_SIZE, buildContainer, validateFlow, type FlowRecord } from "@skystream/schemas";
import { errorMessage, retry, totalLag, type Consumer, type MessageBatch, type PartitionOffset } from "@skystream/common";
import { DeadLetters, type DeadLetter } from "../../dead-letters.js";
import { flowsInsert } from "../../storage/clickhouse/index.js";
import type { Sink, SinkDeps } from "../types.js";
import type { ClickhouseFlowsConfig } from "./config.js";
import { sinkMetrics, type SinkMetrics } from "./metrics.js";

interface Pending {
  /** Avro bodies by writer schema id. */
  bodies: Map<number, Buffer[]>;
  rows: number;
  dead: DeadLetter[];
  /** Next offset to commit per "topic\0partition". */
  offsets: Map<string, PartitionOffset>;
  since: number;
}

const emptyPending = (): Pending => ({ bodies: new Map(), rows: 0, dead: [], offsets: new Map(), since: Date.now() });

export class ClickhouseFlowSink implements Sink {
  readonly topics: string[];
  private readonly consumer: Consumer;
  private readonly dlq: DeadLetters;
  private readonly m: SinkMetrics;
  private readonly log: SinkDeps["log"];
  private pending = emptyPending();
  /** Serializes batch intake and flushes. */
  private chain: Promise<void> = Promise.resolve();
  /** The batch being written (insert, dead letters, commit), if any. */
  private writing: Promise<void> = Promise.resolve();
  private timer?: NodeJS.Timeout;
  private lagTimer?: NodeJS.Timeout;
  private stopping = false;

  constructor(
    readonly id: string,
    private readonly cfg: ClickhouseFlowsConfig,
    private readonly deps: SinkDeps,
  ) {
    this.topics = [cfg.topic];
    this.log = deps.log.child({ component: `sink/${id}` });
    this.consumer = deps.bus.consumer(deps.groupId);
    this.dlq = new DeadLetters(deps.producer, deps.dlqTopic, id, deps.metrics);
    this.m = sinkMetrics(deps.metrics, id);
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe(this.topics, true);
    await this.consumer.run({
      onBatch: (b) => this.serialize(() => this.intake(b)),
      // A revoked partition's buffered rows will be read again by its new owner: drop them here.
      onRevoke: (parts) => this.serialize(async () => this.dropPartitions(parts)),
    });
    const tick = Math.max(50, Math.min(1000, this.cfg.batch_timeout / 4));
    this.timer = setInterval(() => {
      if (this.pending.rows + this.pending.dead.length > 0 && Date.now() - this.pending.since >= this.cfg.batch_timeout) {
        void this.serialize(() => this.flush("timeout"));
      }
    }, tick);
    this.lagTimer = setInterval(() => void this.updateLag(), 5000);
    this.log.info({ topic: this.cfg.topic, batch_size: this.cfg.batch_size, batch_timeout_ms: this.cfg.batch_timeout }, "started");
  }

  private serialize(fn: () => Promise<void>): Promise<void> {
    const next = this.chain.then(fn);
    this.chain = next.catch((err: unknown) => this.log.error({ err }, "sink step failed"));
    return next;
  }

  private async intake(batch: MessageBatch): Promise<void> {
    const p = this.pending;
    if (p.rows === 0 && p.dead.length === 0) p.since = Date.now();
    for (const msg of batch.messages) {
      const value = msg.value ?? Buffer.alloc(0);
      try {
        const { schemaId, value: flow } = this.deps.codec.decode<FlowRecord>(value, FLOW_RECORD);
        const invalid = validateFlow(flow);
        if (invalid) {
          p.dead.push({ message: msg, reason: invalid, error: `flow ${flow.UUID || "(no UUID)"} failed validation: ${invalid}` });
        } else {
          let list = p.bodies.get(schemaId);
          if (!list) p.bodies.set(schemaId, (list = []));
          list.push(value.subarray(FRAME_HEADER_SIZE));
          p.rows++;
        }
      } catch (err) {
        const reason = err instanceof DecodeError ? err.reason : "decode_error";
        p.dead.push({ message: msg, reason, error: errorMessage(err) });
      }
    }
    const last = batch.messages.at(-1);
    if (last) {
      p.offsets.set(`${batch.topic}\u0000${batch.partition}`, {
        topic: batch.topic,
        partition: batch.partition,
        offset: (BigInt(last.offset) + 1n).toString(),
      });
    }
    this.m.recordsIn.inc({ sink: this.id, topic: batch.topic }, batch.messages.length);
    this.m.buffered.set(p.rows);
    if (p.rows >= this.cfg.batch_size || p.rows >= this.cfg.max_buffered_rows) await this.flush("size");
  }

  private containers(p: Pending): Buffer[] {
    const out: Buffer[] = [];
    for (const [schemaId, bodies] of p.bodies) {
      const schema = this.deps.codec.schema(schemaId)!.schema;
      const parts = Math.min(this.cfg.parse_parallelism, Math.max(1, Math.floor(bodies.length / 1000)));
      const per = Math.ceil(bodies.length / parts);
      for (let i = 0; i < bodies.length; i += per) out.push(buildContainer(schema, bodies.slice(i, i + per)));
    }
    return out;
  }

  /**
   * Cuts the pending batch and hands it to the writer. Batches are written strictly in order, one at a
   * time; intake goes on while one is written and waits when the next is full (memory: two batches).
   */
  private async flush(why: "size" | "timeout" | "stop"): Promise<void> {
    const p = this.pending;
    const empty = p.rows === 0 && p.dead.length === 0 && p.offsets.size === 0;
    const previous = this.writing;
    if (!empty) {
      this.pending = emptyPending();
      this.m.buffered.set(0);
      this.writing = previous.then(() => this.write(p, why));
    }
    await (why === "stop" ? this.writing : previous);
  }

  private async write(p: Pending, why: string): Promise<void> {
    const t0 = performance.now();
    if (p.rows > 0) {
      const ins = flowsInsert(this.deps.storage.database, this.containers(p));
      await retry(() => this.deps.storage.insertAvro(ins), {
        initialMs: 200,
        maxMs: 10_000,
        attempts: this.stopping ? 3 : undefined,
        onError: (err, attempt, wait) => {
          this.m.insertErrors.inc();
          this.log.error({ err: errorMessage(err), attempt, retry_in_ms: wait, rows: p.rows }, "clickhouse insert failed; retrying (consumption paused)");
        },
      });
      this.m.rowsInserted.inc(p.rows);
      this.m.batchRows.observe(p.rows);
    }
    if (p.dead.length > 0) {
      await retry(() => this.dlq.send(p.dead), {
        attempts: this.stopping ? 3 : undefined,
        onError: (err, attempt, wait) => this.log.error({ err: errorMessage(err), attempt, retry_in_ms: wait }, "dead-letter produce failed; retrying"),
      });
      this.log.warn({ count: p.dead.length, reasons: [...new Set(p.dead.map((d) => d.reason))] }, "records sent to the dead-letter topic");
    }
    this.m.insertSeconds.observe((performance.now() - t0) / 1000);
    try {
      await this.consumer.commit([...p.offsets.values()]);
    } catch (err) {
      // Not fatal: the rows are in ClickHouse; the records will be read again (and deduplicated if identical).
      this.m.commitErrors.inc();
      this.log.warn({ err: errorMessage(err) }, "offset commit failed");
    }
    this.log.debug({ rows: p.rows, dead: p.dead.length, why, ms: Math.round(performance.now() - t0) }, "batch written");
  }

  private dropPartitions(parts: { topic: string; partition: number }[]): void {
    // Rows already buffered from a revoked partition are still inserted, but its offsets are no longer
    // ours to commit: the new owner reads those records again (duplicates, never loss).
    for (const p of parts) this.pending.offsets.delete(`${p.topic}\u0000${p.partition}`);
  }

  private async updateLag(): Promise<void> {
    try {
      for (const topic of this.topics) this.m.lag.set({ sink: this.id, topic }, totalLag(await this.deps.bus.lag(this.deps.groupId, topic)));
    } catch {
      /* lag is best effort */
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    clearInterval(this.lagTimer);
    this.consumer.pause();
    await this.serialize(() => this.flush("stop")).catch((err: unknown) =>
      this.log.error({ err: errorMessage(err) }, "final flush failed; records will be read again"),
    );
    await this.consumer.disconnect();
    this.log.info("stopped");
  }

  async healthcheck(): Promise<void> {
    await this.deps.storage.healthcheck();
  }
}
