// Follows the whole topology (every origin, every partition) for the stages that need the graph as of a
// flow's time: starts from what ClickHouse holds (current elements and the revisions of the last
// `window`), then reads the topology topic from its beginning with a group of its own that never commits;
// the Materializer's versions skip what the stored state already has, so only newer revisions reach the
// index. `ready` resolves once it has read up to the topic's end as it was at start.
import { randomUUID } from "node:crypto";
import { TOPOLOGY_DELTA, type AvroCodec, type TopologyDelta } from "@skystream/schemas";
import { errorMessage, retry, type Bus, type Consumer, type Logger, type MessageBatch } from "@skystream/common";
import { TopologyTables, type Storage, type TopologyRevision } from "../storage/clickhouse/index.js";
import { Materializer, TOMBSTONE_MS } from "../sinks/clickhouse-topology/materializer.js";
import { partitionKey } from "../sinks/partitions.js";
import { TopologyIndex } from "./topology-index.js";

/** A revision (or, with Deleted = 1, a deletion) as the materializer makes it. */
export type RevisionRow = TopologyRevision & { Deleted?: 0 | 1 };

export interface GraphFollowerOptions {
  topic: string;
  /** How much history the index keeps (and loads at start). */
  windowMs: number;
  /** An origin silent this long is retired here too (as the topology sink does). */
  retireAfterMs: number;
  groupPrefix: string;
}

export class GraphFollower {
  readonly index: TopologyIndex;
  private readonly graph = new Materializer();
  private readonly consumer: Consumer;
  private readonly tables: TopologyTables;
  private readonly positions = new Map<number, bigint>();
  private ends = new Map<number, bigint>();
  private timers: NodeJS.Timeout[] = [];
  private readonly seenPartitions = new Set<string>();
  private markReady!: () => void;
  /** Resolves when the topic has been read up to its end at start. */
  readonly ready = new Promise<void>((r) => (this.markReady = r));
  private isReady = false;
  private chain: Promise<void> = Promise.resolve();
  /** Per host, the time of the latest delta read from it (heartbeats included): how far its topology is known. */
  private readonly hostTimes = new Map<string, number>();
  private waiters: { host: string; time: number; resolve: (caughtUp: boolean) => void }[] = [];
  private readonly listeners = new Set<(rows: RevisionRow[]) => void>();

  constructor(
    private readonly bus: Bus,
    storage: Storage,
    private readonly codec: AvroCodec,
    private readonly log: Logger,
    private readonly opts: GraphFollowerOptions,
  ) {
    this.index = new TopologyIndex(opts.windowMs);
    this.tables = new TopologyTables(storage);
    this.consumer = bus.consumer(`${opts.groupPrefix}.graph.${randomUUID()}`);
  }

  /** The origins (agents, API, fabric) this follower has seen, as of the deltas it has read. */
  origins() {
    return this.graph.originRows();
  }

  async start(): Promise<void> {
    const now = Date.now();
    const stored = await retry(() => this.tables.loadAll(now - TOMBSTONE_MS, now - this.opts.windowMs), {
      onError: (err, attempt, wait) => this.log.error({ err: errorMessage(err), attempt, retry_in_ms: wait }, "loading the topology failed; retrying"),
    });
    this.graph.load(stored.origins, stored.live, stored.tombstones);
    for (const o of stored.origins) if (!o.Retired) this.advance(o.Host, o.LastTime);
    this.graph.drain();
    this.index.applyHistory([...stored.history, ...stored.live.map((r) => ({ ...r, ValidTo: Number.MAX_SAFE_INTEGER }))]);
    try {
      for (const l of await this.bus.lag("skystream.graph.probe", this.opts.topic)) if (BigInt(l.end) > 0n) this.ends.set(l.partition, BigInt(l.end));
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, "topology topic end offsets unknown; not waiting to catch up");
    }
    this.checkReady();
    await this.consumer.connect();
    await this.consumer.subscribe([this.opts.topic], true);
    await this.consumer.run({ onBatch: (b) => (this.chain = this.chain.then(() => this.intake(b))) });
    this.timers.push(
      setInterval(() => this.index.prune(), Math.min(60_000, this.opts.windowMs)),
      setInterval(
        () => {
          this.graph.retire(this.seenPartitions, this.opts.retireAfterMs);
          this.applyRows();
        },
        Math.max(1000, Math.min(this.opts.retireAfterMs / 4, 15_000)),
      ),
    );
    this.log.info({ topic: this.opts.topic, elements: stored.live.length, revisions: stored.history.length }, "following the topology");
  }

  private async intake(batch: MessageBatch): Promise<void> {
    // Rejects only when the registry was closed (stopping): what stays unknown is skipped, like anything unreadable.
    await this.codec.prepare(batch.messages.map((m) => m.value)).catch(() => undefined);
    this.seenPartitions.add(partitionKey(batch.topic, batch.partition));
    for (const msg of batch.messages) {
      try {
        const { value: d } = this.codec.decode<TopologyDelta>(msg.value ?? Buffer.alloc(0), TOPOLOGY_DELTA);
        if (d.Origin) this.graph.apply(d, batch.topic, batch.partition, BigInt(msg.offset));
        if (d.Host) this.advance(d.Host, Number(d.Time));
      } catch {
        // The materializer dead-letters what cannot be read; here it is only skipped.
      }
      this.positions.set(batch.partition, BigInt(msg.offset) + 1n);
    }
    this.applyRows();
    this.checkReady();
    this.wake();
  }

  private advance(host: string, time: number): void {
    if (time > (this.hostTimes.get(host) ?? -Infinity)) this.hostTimes.set(host, time);
  }

  private wake(): void {
    if (this.waiters.length === 0) return;
    this.waiters = this.waiters.filter((w) => {
      if ((this.hostTimes.get(w.host) ?? -Infinity) < w.time) return true;
      w.resolve(true);
      return false;
    });
  }

  /**
   * Resolves once the topology of `host` is known up to `time` (a delta from it at or after that time was
   * read), true; or false after `maxMs`. A host never seen has nothing to wait for.
   */
  caughtUp(host: string, time: number, maxMs: number): Promise<boolean> {
    const known = this.hostTimes.get(host);
    if (known === undefined || known >= time || maxMs <= 0) return Promise.resolve(known === undefined || known >= time);
    return new Promise((resolve) => {
      const w = { host, time, resolve };
      this.waiters.push(w);
      setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) {
          this.waiters.splice(i, 1);
          resolve(false);
        }
      }, maxMs).unref();
    });
  }

  /** New revisions and deletions into the index (the archive rows are the materializer's business). */
  private applyRows(): void {
    const rows = this.graph.drain().live;
    for (const r of rows) this.index.apply(r);
    if (rows.length > 0) for (const l of this.listeners) l(rows);
  }

  /** Calls `listener` with every batch of new revisions and deletions, after the index has them. */
  onRevisions(listener: (rows: RevisionRow[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private checkReady(): void {
    if (this.isReady) return;
    for (const [p, end] of this.ends) if ((this.positions.get(p) ?? 0n) < end) return;
    this.isReady = true;
    this.markReady();
  }

  /** Ends every wait in caughtUp() now (false): used when stopping. */
  release(): void {
    for (const w of this.waiters.splice(0)) w.resolve(false);
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.release();
    await this.consumer.disconnect();
  }
}
