// Consumes TopologyDeltas and keeps the topology's whole history in ClickHouse: the Materializer applies
// them to the live graph in memory, this sink writes the rows it produces (archive, then live, then the
// origins' watermarks) and commits the partitions' offsets after that.
//
// Delivery: a crash between the write and the commit makes the next owner of the partition read those
// deltas again; the Materializer skips what the stored watermarks and element versions say was applied,
// and a revision written twice has the same key and collapses (ReplacingMergeTree). Each partition's
// state is loaded from ClickHouse when the partition is first read here (at start, or when a rebalance
// hands it over from another process), so any pipeline process can take over any origin.
import { TOPOLOGY_DELTA, DecodeError, type TopologyDelta } from "@skystream/schemas";
import { Counter, Gauge, errorMessage, retry, sharedMetric, totalLag, type Consumer, type MessageBatch, type PartitionOffset } from "@skystream/common";
import { DeadLetters, type DeadLetter } from "../../dead-letters.js";
import { commitOffsets } from "../commit.js";
import { TopologyTables } from "../../storage/clickhouse/index.js";
import { sinkMetrics, type SinkMetrics } from "../clickhouse-flows/metrics.js";
import type { Sink, SinkDeps } from "../types.js";
import type { ClickhouseTopologyConfig } from "./config.js";
import { Materializer, TOMBSTONE_MS } from "./materializer.js";
import { partitionKey } from "../partitions.js";

interface PartitionState {
  topic: string;
  partition: number;
  /** Next offset to commit once what was read is written. */
  next?: bigint;
  committed?: bigint;
}

export class ClickhouseTopologySink implements Sink {
  readonly topics: string[];
  private readonly consumer: Consumer;
  private readonly dlq: DeadLetters;
  private readonly tables: TopologyTables;
  private readonly graph = new Materializer();
  private readonly partitions = new Map<string, PartitionState>();
  private dead: DeadLetter[] = [];
  private chain: Promise<void> = Promise.resolve();
  private readonly log: SinkDeps["log"];
  private readonly m: SinkMetrics;
  private readonly deltas: Counter<"result">;
  private readonly retired: Counter;
  private timers: NodeJS.Timeout[] = [];
  private stopping = false;
  /** The writer's current round, if any. */
  private writing: Promise<void> = Promise.resolve();
  private givenUp = false;
  private readonly groupId: string;

  constructor(
    readonly id: string,
    private readonly cfg: ClickhouseTopologyConfig,
    private readonly deps: SinkDeps,
  ) {
    this.topics = [cfg.topic];
    this.log = deps.log.child({ component: `sink/${id}` });
    // Its own group: the members of a group share partitions of the topics they all read.
    this.groupId = `${deps.groupId}.topology`;
    this.consumer = deps.bus.consumer(this.groupId);
    this.dlq = new DeadLetters(deps.producer, deps.dlqTopic, id, deps.metrics);
    this.tables = new TopologyTables(deps.storage);
    this.m = sinkMetrics(deps.metrics, id);
    const registers = [deps.metrics];
    this.deltas = sharedMetric(
      deps.metrics,
      "skystream_topology_deltas_total",
      () =>
        new Counter({
          name: "skystream_topology_deltas_total",
          help: "Topology deltas read, applied or skipped as already applied",
          labelNames: ["result"],
          registers,
        }),
    );
    this.retired = sharedMetric(
      deps.metrics,
      "skystream_topology_origins_retired_total",
      () => new Counter({ name: "skystream_topology_origins_retired_total", help: "Origins retired after their heartbeats stopped", registers }),
    );
    const graph = this.graph;
    sharedMetric(
      deps.metrics,
      "skystream_topology_elements",
      () =>
        new Gauge({
          name: "skystream_topology_elements",
          help: "Live nodes and edges held by this process (origins of its partitions)",
          labelNames: ["kind"],
          registers,
          collect() {
            const s = graph.size;
            this.set({ kind: "node" }, s.nodes);
            this.set({ kind: "edge" }, s.edges);
            this.set({ kind: "origin" }, s.origins);
          },
        }),
    );
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe(this.topics, true);
    await this.consumer.run({
      onBatch: (b) => this.serialize(() => this.intake(b)),
      onRevoke: (parts) => this.serialize(() => this.revoke(parts)),
    });
    this.timers.push(setInterval(() => void this.serialize(() => this.flush()), this.cfg.flush_interval));
    this.timers.push(
      setInterval(() => void this.serialize(() => this.retire()), Math.max(1000, Math.min(this.cfg.retire_after / 4, 15_000))),
      setInterval(() => void this.updateLag(), 5000),
    );
    this.log.info({ topic: this.cfg.topic, group: this.groupId }, "started");
  }

  private serialize(fn: () => Promise<void>): Promise<void> {
    const next = this.chain.then(fn);
    this.chain = next.catch((err: unknown) => this.log.error({ err: errorMessage(err) }, "topology step failed"));
    return next;
  }

  private async intake(batch: MessageBatch): Promise<void> {
    if (batch.messages.length === 0) return;
    const key = partitionKey(batch.topic, batch.partition);
    if (!this.partitions.has(key)) await this.load(batch.topic, batch.partition);
    const st = this.partitions.get(key)!;
    const applied = this.graph.counters.applied;
    const skipped = this.graph.counters.skipped;
    await this.deps.codec.prepare(
      batch.messages.map((m) => m.value),
      batch.heartbeat,
    );
    for (const msg of batch.messages) {
      const offset = BigInt(msg.offset);
      try {
        const { value: d } = this.deps.codec.decode<TopologyDelta>(msg.value ?? Buffer.alloc(0), TOPOLOGY_DELTA);
        const invalid = invalidDelta(d);
        if (invalid) this.dead.push({ message: msg, reason: "invalid_delta", error: invalid });
        else this.graph.apply(d, batch.topic, batch.partition, offset);
      } catch (err) {
        this.dead.push({ message: msg, reason: err instanceof DecodeError ? err.reason : "decode_error", error: errorMessage(err) });
      }
      st.next = offset + 1n;
    }
    this.m.recordsIn.inc({ sink: this.id, topic: batch.topic }, batch.messages.length);
    this.deltas.inc({ result: "applied" }, this.graph.counters.applied - applied);
    this.deltas.inc({ result: "skipped" }, this.graph.counters.skipped - skipped);
    this.m.buffered.set(this.graph.pendingRows());
    if (this.graph.pendingRows() >= this.cfg.batch_size) await this.flush();
  }

  /** Takes over a partition: its origins' state as stored, after everything of ours is written. */
  private async load(topic: string, partition: number): Promise<void> {
    await this.settle();
    const stored = await retry(() => this.tables.loadPartition(topic, partition, Date.now() - TOMBSTONE_MS), {
      attempts: this.stopping ? 3 : undefined,
      onError: (err, attempt, wait) =>
        this.log.error({ err: errorMessage(err), attempt, retry_in_ms: wait }, "loading the partition's topology failed; retrying"),
    });
    this.graph.load(stored.origins, stored.live, stored.tombstones);
    this.partitions.set(partitionKey(topic, partition), { topic, partition });
    this.log.info({ topic, partition, origins: stored.origins.length, elements: stored.live.length }, "partition's topology loaded");
  }

  /**
   * Hands what the graph produced to the writer: its rows, dead letters and the offsets they cover. The
   * write runs while the next deltas are applied; a flush first waits for the previous write, so at most
   * two rounds are in memory.
   */
  private async flush(): Promise<void> {
    await this.writing;
    const rows = this.graph.drain();
    const dead = this.dead;
    this.dead = [];
    const offsets: PartitionOffset[] = [];
    for (const st of this.partitions.values()) {
      if (st.next === undefined) continue;
      const hold = this.graph.holdOffset(st.topic, st.partition);
      const next = hold !== undefined && hold < st.next ? hold : st.next;
      if (st.committed === undefined || next > st.committed) {
        offsets.push({ topic: st.topic, partition: st.partition, offset: next.toString() });
        st.committed = next;
      }
    }
    if (rows.archive.length + rows.live.length + rows.origins.length + dead.length + offsets.length === 0) return;
    this.writing = this.writing
      .then(() => (this.givenUp ? undefined : this.writeRound(rows, dead, offsets)))
      .catch((err: unknown) => {
        // Only while stopping: nothing after this round may be committed; the next reader repeats it.
        this.givenUp = true;
        this.log.error({ err: errorMessage(err) }, "topology round given up; its deltas will be read again");
      });
  }

  /** Flushes and waits until everything applied so far is written and committed. */
  private async settle(): Promise<void> {
    await this.flush();
    await this.writing;
  }

  /** Writes a round's rows, sends its dead letters, then commits its offsets. */
  private async writeRound(rows: ReturnType<Materializer["drain"]>, dead: DeadLetter[], offsets: PartitionOffset[]): Promise<void> {
    const n = rows.archive.length + rows.live.length;
    const t0 = performance.now();
    const attempts = this.stopping ? 3 : undefined;
    await retry(() => this.tables.write(rows), {
      initialMs: 200,
      maxMs: 10_000,
      attempts,
      onError: (err, attempt, wait) => {
        this.m.insertErrors.inc();
        this.log.error({ err: errorMessage(err), attempt, retry_in_ms: wait, rows: n }, "topology write failed; retrying (consumption paused)");
      },
    });
    if (dead.length > 0) {
      await retry(() => this.dlq.send(dead), {
        attempts,
        onError: (err, attempt, wait) => this.log.error({ err: errorMessage(err), attempt, retry_in_ms: wait }, "dead-letter produce failed; retrying"),
      });
      this.log.warn({ count: dead.length, reasons: [...new Set(dead.map((d) => d.reason))] }, "topology records sent to the dead-letter topic");
    }
    this.m.rowsInserted.inc(n);
    this.m.insertSeconds.observe((performance.now() - t0) / 1000);
    this.m.buffered.set(this.graph.pendingRows());
    if (offsets.length === 0) return;
    try {
      await commitOffsets(this.consumer, offsets, this.m.commitErrors, this.log);
    } catch (err) {
      // The next reader of the partition reads these deltas again and skips what was applied.
      this.log.warn({ err: errorMessage(err) }, "offset commit given up");
    }
  }

  private async retire(): Promise<void> {
    const retired = this.graph.retire(new Set(this.partitions.keys()), this.cfg.retire_after);
    this.graph.pruneTombstones();
    if (retired.length === 0) return;
    this.retired.inc(retired.length);
    this.log.warn({ origins: retired, after_ms: this.cfg.retire_after }, "origins retired: no heartbeat");
    await this.settle();
  }

  private async revoke(parts: { topic: string; partition: number }[]): Promise<void> {
    await this.settle().catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, "flush before revocation failed"));
    for (const p of parts) this.partitions.delete(partitionKey(p.topic, p.partition));
  }

  private async updateLag(): Promise<void> {
    try {
      for (const topic of this.topics) this.m.lag.set({ sink: this.id, topic }, totalLag(await this.deps.bus.lag(this.groupId, topic)));
    } catch {
      /* lag is best effort */
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    this.consumer.pause();
    await this.serialize(() => this.settle()).catch((err: unknown) =>
      this.log.error({ err: errorMessage(err) }, "final flush failed; deltas will be read again"),
    );
    await this.consumer.disconnect();
    this.log.info("stopped");
  }

  async healthcheck(): Promise<void> {
    await this.deps.storage.healthcheck();
  }
}

function invalidDelta(d: TopologyDelta): string | undefined {
  if (!d.Origin) return "no Origin";
  if ((d.Op === "ADD" || d.Op === "UPDATE" || d.Op === "DELETE") && !d.Node === !d.Edge)
    return `${d.Op} carries ${d.Node ? "both a node and an edge" : "neither a node nor an edge"}`;
  if (d.Node && !d.Node.ID) return "node without ID";
  if (d.Edge && (!d.Edge.ID || !d.Edge.Parent || !d.Edge.Child)) return "edge without ID, Parent or Child";
  return undefined;
}
