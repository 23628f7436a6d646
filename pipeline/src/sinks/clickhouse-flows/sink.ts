// Consumes FlowRecords and inserts them into {db}.flows in large batches, parsed by ClickHouse itself:
// framed Avro bodies are validated, then concatenated into object containers untouched.
//
// Delivery: exactly once. Batches are cut per Kafka partition and each is an offset range
// topic:partition:first-last. The range is written to the sink ledger before the insert, the insert
// carries it as its deduplication token, and the partition's offset is committed after the insert and the
// batch's dead letters. Whoever reads the partition next (this process after a crash, another after a
// rebalance) starts from the committed offset; if the ledger says a range beginning there was being
// inserted, the first batch is cut at exactly that range, so the insert repeats with the same token and
// ClickHouse drops it if it had landed (non_replicated_deduplication_window, or replication's own).
// Offsets that go back below the recorded range (a topic created again) start a new token epoch. The
// in-process bus of the all-in-one keeps nothing across restarts and its offsets start at 0 in every run:
// there batches have no ledger and no token (an insert into the embedded engine either lands or throws,
// and nothing is replayed).
//
// Enrichment (on by default): each valid flow gets its Enrichment (capture node, nodes, namespaces and
// processes at both ends, server side) from a GraphFollower, as of the flow's own time. The enriched body
// is the original body with its null Enrichment replaced (Enrichment is FlowRecord's last field, so this
// is an append, not a re-encoding). Enriched flows are also published to the enriched topic alongside their
// insert and before the commit: at least once there (a consumer dedups on UUID + Last).
import {
  FLOW_RECORD,
  DecodeError,
  FRAME_HEADER_SIZE,
  buildContainer,
  validateFlow,
  writeFrameHeader,
  type FlowEnrichment,
  type FlowRecord,
  type SchemaEntry,
} from "@skystream/schemas";
import type avro from "avsc";
import {
  Counter,
  errorMessage,
  retry,
  sharedMetric,
  totalLag,
  type BusMessage,
  type Consumer,
  type MessageBatch,
  type OutMessage,
  type PartitionOffset,
} from "@skystream/common";
import { Enricher } from "../../graph/enricher.js";
import { GraphFollower } from "../../graph/follower.js";
import { DeadLetters, type DeadLetter } from "../../dead-letters.js";
import { commitOffsets } from "../commit.js";
import { partitionKey } from "../partitions.js";
import { SinkLedger, flowsInsert, type LedgerRange } from "../../storage/clickhouse/index.js";
import type { Sink, SinkDeps } from "../types.js";
import type { ClickhouseFlowsConfig } from "./config.js";
import { sinkMetrics, type SinkMetrics } from "./metrics.js";

/** Records of one partition, from offset `first` to `last`, on their way to one insert. */
interface Batch {
  /** The partition state it was cut from: a batch whose state was replaced or fenced is not written. */
  state: PartitionState;
  topic: string;
  partition: number;
  epoch: number;
  first: bigint;
  last: bigint;
  /** Avro bodies by writer schema id, in offset order. */
  bodies: Map<number, Buffer[]>;
  /** Enriched records for the enriched topic, in offset order. */
  enriched: OutMessage[];
  rows: number;
  dead: DeadLetter[];
  since: number;
}

/** What the sink knows of a partition it reads. */
interface PartitionState {
  topic: string;
  partition: number;
  /** The batch being filled. */
  open?: Batch;
  /** A range the ledger says was being inserted: the first batch must end exactly at its last offset. */
  replay?: LedgerRange;
  /** The ledger's epoch for the partition, settled by its first record. */
  epoch?: number;
  /** A commit was given up: nothing more is written for it until it is read again from this offset. */
  fenced?: bigint;
}

const ENRICHMENT_FIELDS = ["capture_node", "a_node", "b_node", "a_process", "b_process", "server"] as const;
type EnrichmentField = (typeof ENRICHMENT_FIELDS)[number];

const rowsOf = (b: Batch) => b.rows + b.dead.length;

type Decoded = { writer: SchemaEntry; flow: FlowRecord } | { dead: DeadLetter };

export class ClickhouseFlowSink implements Sink {
  readonly topics: string[];
  private readonly consumer: Consumer;
  private readonly dlq: DeadLetters;
  private readonly m: SinkMetrics;
  private readonly log: SinkDeps["log"];
  private readonly partitions = new Map<string, PartitionState>();
  /** Batches cut and waiting for the writer, in cut order. */
  private ready: Batch[] = [];
  /** Rows of batches handed to the writer and not written yet. */
  private queuedRows = 0;
  private readonly ledger: SinkLedger;
  /** Kafka keeps offsets across restarts; the in-process bus does not. */
  private readonly durable: boolean;
  /** Serializes batch intake and cuts. */
  private chain: Promise<void> = Promise.resolve();
  /** The writer's current round (ledger, inserts, dead letters, commit), if any. */
  private writing: Promise<void> = Promise.resolve();
  private timer?: NodeJS.Timeout;
  private lagTimer?: NodeJS.Timeout;
  private stopping = false;
  /** A round failed for good (only while stopping): nothing after it may be committed. */
  private givenUp = false;
  readonly otherTopics: string[];
  readonly writes: { topic: string; record: string }[];
  private readonly follower?: GraphFollower;
  private readonly enricher?: Enricher;
  /** The FlowRecord version enriched records are written with, and its FlowEnrichment type. */
  private readonly enrichedWriter?: { entry: SchemaEntry; type: avro.Type };
  /** skystream_enrichment_total children, [field][found ? 1 : 0]: no label lookup per flow. */
  private readonly enrichment: Record<EnrichmentField, [Counter.Internal, Counter.Internal]>;
  /** Flows counted since the last flush, [2 × field index + found]. */
  private readonly enrichmentCounts = new Array<number>(2 * ENRICHMENT_FIELDS.length).fill(0);

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
    this.ledger = new SinkLedger(deps.storage, `${deps.groupId}/${id}`);
    this.durable = deps.bus.kind !== "memory";
    const e = cfg.enrichment;
    this.otherTopics = e.enabled ? [e.topology_topic, ...(e.topic ? [e.topic] : [])] : [];
    this.writes = e.enabled && e.topic ? [{ topic: e.topic, record: FLOW_RECORD }] : [];
    if (e.enabled) {
      this.follower = new GraphFollower(deps.bus, deps.storage, deps.codec, this.log.child({ component: "graph" }), {
        topic: e.topology_topic,
        windowMs: e.window,
        retireAfterMs: e.retire_after,
        groupPrefix: deps.groupId,
      });
      this.enricher = new Enricher(this.follower.index, { slackMs: e.socket_slack });
      const entry = deps.codec.writerFor(FLOW_RECORD);
      const field = (entry.type as avro.types.RecordType).field("Enrichment");
      const branch = field && (field.type as unknown as { types?: avro.Type[] }).types?.find((t) => t.typeName === "record");
      if (!branch) throw new Error(`FlowRecord v${entry.version} has no Enrichment record`);
      this.enrichedWriter = { entry, type: branch };
    }
    const counter = sharedMetric(
      deps.metrics,
      "skystream_enrichment_total",
      () =>
        new Counter({
          name: "skystream_enrichment_total",
          help: "Flows enriched, by what was found (capture node, node and process at each end, server side)",
          labelNames: ["field", "result"],
          registers: [deps.metrics],
        }),
    );
    this.enrichment = Object.fromEntries(
      ENRICHMENT_FIELDS.map((field) => [field, [counter.labels({ field, result: "missing" }), counter.labels({ field, result: "found" })]]),
    ) as Record<EnrichmentField, [Counter.Internal, Counter.Internal]>;
  }

  async start(): Promise<void> {
    if (this.follower) {
      await this.follower.start();
      const timeout = new Promise<boolean>((r) => setTimeout(() => r(false), this.cfg.enrichment.ready_timeout).unref());
      if (!(await Promise.race([this.follower.ready.then(() => true), timeout])))
        this.log.warn({ timeout_ms: this.cfg.enrichment.ready_timeout }, "the topology is not caught up yet; enriching with what is known");
    }
    await this.consumer.connect();
    await this.consumer.subscribe(this.topics, true);
    await this.consumer.run({
      onBatch: (b) => this.serialize(() => this.intake(b)),
      // A revoked partition is read again by its new owner from the committed offset: forget what was not
      // handed to the writer, and let the writer finish the round it is in (its ledger entry is what the
      // new owner will follow).
      onRevoke: (parts) => this.serialize(() => this.revoke(parts)),
    });
    const tick = Math.max(50, Math.min(1000, this.cfg.batch_timeout / 4));
    this.timer = setInterval(() => void this.serialize(async () => this.cutExpired()), tick);
    this.lagTimer = setInterval(() => void this.updateLag(), 5000);
    this.log.info({ topic: this.cfg.topic, batch_size: this.cfg.batch_size, batch_timeout_ms: this.cfg.batch_timeout }, "started");
  }

  private serialize(fn: () => Promise<void>): Promise<void> {
    const next = this.chain.then(fn);
    this.chain = next.catch((err: unknown) => this.log.error({ err: errorMessage(err) }, "sink step failed"));
    return next;
  }

  private async state(topic: string, partition: number): Promise<PartitionState> {
    const key = partitionKey(topic, partition);
    let st = this.partitions.get(key);
    if (!st) {
      // First records of a partition since start or since it was assigned to us: what was in flight?
      const replay = !this.durable
        ? undefined
        : await retry(() => this.ledger.last(topic, partition), {
            onError: (err, attempt, wait) => this.log.error({ err: errorMessage(err), attempt, retry_in_ms: wait }, "reading the sink ledger failed; retrying"),
          });
      st = { topic, partition, replay, epoch: this.durable ? undefined : 0 };
      this.partitions.set(key, st);
    }
    return st;
  }

  private async intake(batch: MessageBatch): Promise<void> {
    if (batch.messages.length === 0) return;
    let st = await this.state(batch.topic, batch.partition);
    if (st.fenced !== undefined) {
      if (BigInt(batch.messages[0]!.offset) !== st.fenced) return;
      // Read again from the range that could not be committed: start over from the ledger.
      this.partitions.delete(partitionKey(batch.topic, batch.partition));
      st = await this.state(batch.topic, batch.partition);
    }
    await this.deps.codec.prepare(
      batch.messages.map((m) => m.value),
      batch.heartbeat,
    );
    const decoded = batch.messages.map((m) => this.decode(m));
    await this.awaitTopology(decoded, batch);
    for (const [i, msg] of batch.messages.entries()) {
      const offset = BigInt(msg.offset);
      if (st.epoch === undefined) {
        // Offsets below the recorded range: the topic is not the one the ledger saw (created again).
        const back = st.replay !== undefined && offset < st.replay.first;
        st.epoch = (st.replay?.epoch ?? 0) + (back ? 1 : 0);
        if (back) {
          this.log.warn(
            { topic: st.topic, partition: st.partition, offset: msg.offset, recorded: `${st.replay!.first}-${st.replay!.last}` },
            "offsets went back: new token epoch",
          );
          st.replay = undefined;
        }
      }
      if (st.replay) {
        // Read from the committed offset: a recorded range that starts here is repeated as it was; one that
        // ended before it was committed; one that started before it cannot be rebuilt (offsets were committed
        // mid-range by something else) and is given up with a warning.
        if (offset > st.replay.last) st.replay = undefined;
        else if (!st.open && offset !== st.replay.first) {
          this.log.warn(
            { topic: st.topic, partition: st.partition, range: `${st.replay.first}-${st.replay.last}`, offset: msg.offset },
            "ledger range cannot be repeated exactly",
          );
          st.replay = undefined;
        }
      }
      this.add(st, msg, offset, decoded[i]!);
      const open = st.open!;
      if (st.replay ? offset === st.replay.last : rowsOf(open) >= this.cfg.batch_size) {
        st.replay = undefined;
        this.cut(st);
      }
    }
    this.m.recordsIn.inc({ sink: this.id, topic: batch.topic }, batch.messages.length);
    this.flushEnrichmentCounts();
    this.m.buffered.set(this.bufferedRows());
    // Memory stays bounded: past max_buffered_rows, intake (and so consumption) waits for the writer.
    void this.write();
    while (this.bufferedRows() >= this.cfg.max_buffered_rows) {
      await Promise.race([this.writing, new Promise((r) => setTimeout(r, 1000))]);
      await batch.heartbeat?.();
    }
  }

  /** A record read: the flow and its writer schema, or why it cannot be written. */
  private decode(msg: BusMessage): Decoded {
    const value = msg.value ?? Buffer.alloc(0);
    try {
      const { writer, value: flow } = this.deps.codec.decode<FlowRecord>(value, FLOW_RECORD);
      const invalid = validateFlow(flow);
      if (invalid) return { dead: { message: msg, reason: invalid, error: `flow ${flow.UUID || "(no UUID)"} failed validation: ${invalid}` } };
      return { writer, flow };
    } catch (err) {
      const reason = err instanceof DecodeError ? err.reason : "decode_error";
      return { dead: { message: msg, reason, error: errorMessage(err) } };
    }
  }

  /**
   * Waits (up to enrichment.topology_wait) until the graph knows each host's topology up to its flows'
   * last packet plus topology_margin: a process's socket is reported by a poll, and reaches the graph after
   * flows captured at the same moment may. Not while stopping: what was read is written now.
   */
  private async awaitTopology(decoded: Decoded[], batch: MessageBatch): Promise<void> {
    const wait = this.cfg.enrichment.topology_wait;
    if (!this.follower || wait <= 0 || this.stopping) return;
    const until = new Map<string, number>();
    for (const d of decoded) if ("flow" in d) until.set(d.flow.Host, Math.max(until.get(d.flow.Host) ?? 0, d.flow.Last + this.cfg.enrichment.topology_margin));
    const results = await Promise.all([...until].map(([host, t]) => this.follower!.caughtUp(host, t, wait)));
    const late = results.filter((ok) => !ok).length;
    if (late > 0) {
      this.m.topologyLate.inc(late);
      this.log.debug({ hosts: late }, "enriching before the topology caught up with the flows' time");
    }
    await batch.heartbeat?.();
  }

  private add(st: PartitionState, msg: BusMessage, offset: bigint, decoded: Decoded): void {
    const b: Batch = (st.open ??= {
      state: st,
      topic: st.topic,
      partition: st.partition,
      epoch: st.epoch ?? 0,
      first: offset,
      last: offset,
      bodies: new Map(),
      enriched: [],
      rows: 0,
      dead: [] as DeadLetter[],
      since: Date.now(),
    });
    b.last = offset;
    if ("dead" in decoded) {
      b.dead.push(decoded.dead);
      return;
    }
    const { flow } = decoded;
    let writer = decoded.writer;
    let framed = msg.value!;
    if (writer.version === 0) {
      // A registry's schema of a layout the catalog does not have: inserted in the catalog's writer layout.
      writer = this.deps.codec.writerFor(FLOW_RECORD);
      framed = this.deps.codec.encode(FLOW_RECORD, flow);
    }
    if (this.enricher) {
      try {
        framed = this.enriched(framed, writer, flow, this.enricher.enrich(flow));
      } catch (err) {
        b.dead.push({ message: msg, reason: "enrichment_error", error: errorMessage(err) });
        return;
      }
      writer = this.enrichedWriter!.entry;
      if (this.cfg.enrichment.topic) b.enriched.push({ key: msg.key, value: framed });
    }
    // Keyed by the catalog's (pinned) id even when the record carries a registry's: deduplication tokens
    // stay the same with or without a registry.
    let list = b.bodies.get(writer.id);
    if (!list) b.bodies.set(writer.id, (list = []));
    list.push(framed.subarray(FRAME_HEADER_SIZE));
    b.rows++;
  }

  /** The framed record with its Enrichment set, written with the enriched writer schema. */
  private enriched(value: Buffer, writer: SchemaEntry, flow: FlowRecord, e: FlowEnrichment): Buffer {
    this.countEnrichment(e);
    const w = this.enrichedWriter!;
    const topic = this.cfg.enrichment.topic;
    const sameLayout = writer === w.entry || writer.version === 1;
    if (!sameLayout || flow.Enrichment) {
      // Another layout (a newer or unknown writer) or already enriched: encode the whole record again.
      return this.deps.codec.encode(FLOW_RECORD, { ...flow, Enrichment: e }, topic);
    }
    // The body ends with Enrichment's union index 0 (null): replace it by index 1 and the record.
    const tail = w.type.toBuffer(e);
    const out = Buffer.allocUnsafe(value.length + tail.length);
    value.copy(out, 0, 0, value.length - 1);
    writeFrameHeader(out, this.deps.codec.writerId(FLOW_RECORD, topic));
    out[value.length - 1] = 2; // zigzag(1)
    tail.copy(out, value.length);
    return out;
  }

  /** Counted here per flow, added to skystream_enrichment_total per batch of messages. */
  private countEnrichment(e: FlowEnrichment): void {
    const n = this.enrichmentCounts;
    n[e.CaptureNode ? 1 : 0]!++;
    n[e.A?.Node ? 3 : 2]!++;
    n[e.B?.Node ? 5 : 4]!++;
    n[e.A?.Process ? 7 : 6]!++;
    n[e.B?.Process ? 9 : 8]!++;
    n[e.Server !== "UNKNOWN" ? 11 : 10]!++;
  }

  private flushEnrichmentCounts(): void {
    const n = this.enrichmentCounts;
    ENRICHMENT_FIELDS.forEach((field, i) => {
      for (const found of [0, 1] as const) {
        if (n[2 * i + found]! > 0) this.enrichment[field][found].inc(n[2 * i + found]);
        n[2 * i + found] = 0;
      }
    });
  }

  private cut(st: PartitionState): void {
    if (!st.open) return;
    this.ready.push(st.open);
    st.open = undefined;
  }

  /** Batches older than batch_timeout are cut (not one being repeated from the ledger: it ends where it ended). */
  private cutExpired(): void {
    const now = Date.now();
    for (const st of this.partitions.values()) if (st.open && !st.replay && now - st.open.since >= this.cfg.batch_timeout) this.cut(st);
    if (this.ready.length > 0) void this.write();
  }

  private bufferedRows(): number {
    let n = 0;
    for (const b of this.ready) n += rowsOf(b);
    for (const st of this.partitions.values()) if (st.open) n += rowsOf(st.open);
    return n + this.queuedRows;
  }

  /** Object containers of one writer schema's bodies (several, parsed in parallel by the engine). */
  private containers(schema: avro.Schema, bodies: Buffer[]): Buffer[] {
    const out: Buffer[] = [];
    const parts = Math.min(this.cfg.parse_parallelism, Math.max(1, Math.floor(bodies.length / 1000)));
    const per = Math.ceil(bodies.length / parts);
    for (let i = 0; i < bodies.length; i += per) out.push(buildContainer(schema, bodies.slice(i, i + per)));
    return out;
  }

  /**
   * Starts writer rounds for the batches cut so far, after the current round; resolves when they are done.
   * A round holds at most one batch per partition: the ledger keeps one range per partition, which must be
   * the only one not yet committed.
   */
  private write(): Promise<void> {
    while (this.ready.length > 0) {
      const round: Batch[] = [];
      const later: Batch[] = [];
      const seen = new Set<string>();
      for (const b of this.ready) {
        const key = partitionKey(b.topic, b.partition);
        if (seen.has(key)) later.push(b);
        else {
          seen.add(key);
          round.push(b);
        }
      }
      this.ready = later;
      const rows = round.reduce((n, b) => n + rowsOf(b), 0);
      this.queuedRows += rows;
      // Retries are endless except while stopping; a round given up then, and every round after it (whose
      // commits would skip its records), is read again by the next owner.
      this.writing = this.writing
        .then(() => (this.givenUp ? undefined : this.writeRound(round)))
        .catch((err: unknown) => {
          this.givenUp = true;
          this.log.error({ err: errorMessage(err), batches: round.length }, "round given up; its records will be read again");
        })
        .finally(() => {
          this.queuedRows -= rows;
          this.m.buffered.set(this.bufferedRows());
        });
    }
    return this.writing;
  }

  /** Still this process's to write: its partition was neither revoked nor fenced since it was cut. */
  private live(b: Batch): boolean {
    return b.state.fenced === undefined && this.partitions.get(partitionKey(b.topic, b.partition)) === b.state;
  }

  private async writeRound(all: Batch[]): Promise<void> {
    const batches = all.filter((b) => this.live(b));
    if (batches.length === 0) return;
    const t0 = performance.now();
    const attempts = this.stopping ? 3 : undefined;
    const ranges = batches.map((b) => ({ topic: b.topic, partition: b.partition, first: b.first, last: b.last, epoch: b.epoch }));
    await retry(() => (this.durable ? this.ledger.record(ranges) : Promise.resolve()), {
      initialMs: 200,
      maxMs: 10_000,
      attempts,
      onError: (err, attempt, wait) => {
        this.m.insertErrors.inc();
        this.log.error({ err: errorMessage(err), attempt, retry_in_ms: wait }, "sink ledger write failed; retrying (consumption paused)");
      },
    });
    // Enriched flows are published while the inserts run (the engine parses on its own threads, the
    // producer encodes on this one); both finish before the commit.
    const enriched = batches.flatMap((b) => b.enriched);
    const topic = this.cfg.enrichment.topic;
    const published =
      enriched.length === 0
        ? undefined
        : retry(() => this.deps.producer.send(topic, enriched), {
            attempts,
            onError: (err, attempt, wait) =>
              this.log.error({ err: errorMessage(err), attempt, retry_in_ms: wait, topic }, "enriched flows produce failed; retrying"),
          });
    // A failed insert must not leave the publication's rejection unhandled: it is awaited below or dropped here.
    published?.catch(() => undefined);
    for (const b of batches) {
      if (b.rows === 0 || !this.live(b)) continue;
      // One insert per writer schema (ClickHouse reads each with its own structure); the split is a
      // function of the records, so a repeated batch repeats the same inserts and tokens.
      const range = `${b.topic}:${b.partition}:${b.epoch}:${b.first}-${b.last}`;
      for (const [schemaId, bodies] of b.bodies) {
        const token = !this.durable ? undefined : b.bodies.size > 1 ? `${range}/s${schemaId}` : range;
        const schema = this.deps.codec.schema(schemaId)!.schema;
        const ins = flowsInsert(this.deps.storage, schema, this.containers(schema, bodies), token);
        await retry(() => this.deps.storage.insertAvro(ins), {
          initialMs: 200,
          maxMs: 10_000,
          attempts,
          onError: (err, attempt, wait) => {
            this.m.insertErrors.inc();
            this.log.error(
              { err: errorMessage(err), attempt, retry_in_ms: wait, rows: bodies.length, token },
              "clickhouse insert failed; retrying (consumption paused)",
            );
          },
        });
      }
      this.m.rowsInserted.inc(b.rows);
      this.m.batchRows.observe(b.rows);
    }
    await published;
    const dead = batches.flatMap((b) => b.dead);
    if (dead.length > 0) {
      await retry(() => this.dlq.send(dead), {
        attempts,
        onError: (err, attempt, wait) => this.log.error({ err: errorMessage(err), attempt, retry_in_ms: wait }, "dead-letter produce failed; retrying"),
      });
      this.log.warn({ count: dead.length, reasons: [...new Set(dead.map((d) => d.reason))] }, "records sent to the dead-letter topic");
    }
    this.m.insertSeconds.observe((performance.now() - t0) / 1000);
    const offsets = new Map<string, PartitionOffset>();
    // Only partitions still ours: a late commit for a partition another member reads now would move its offset.
    for (const b of batches)
      if (this.live(b)) offsets.set(partitionKey(b.topic, b.partition), { topic: b.topic, partition: b.partition, offset: (b.last + 1n).toString() });
    // The commit is retried before the next round: the partition's next ledger range must start at the
    // committed offset. A commit that keeps failing means the partition went to another member, which
    // repeats this round's ranges from the ledger (and ClickHouse drops the repeats).
    if (offsets.size > 0)
      await commitOffsets(this.consumer, [...offsets.values()], this.m.commitErrors, this.log).catch((err: unknown) => {
        // The ledger's range for these partitions is the one whoever reads them next must repeat: write
        // nothing more for them here, and read them again from the uncommitted range.
        for (const b of batches) {
          b.state.fenced = b.first;
          b.state.open = undefined;
          this.ready = this.ready.filter((r) => r.state !== b.state);
          this.consumer.seek?.({ topic: b.topic, partition: b.partition, offset: b.first.toString() });
        }
        this.log.warn({ err: errorMessage(err) }, "offset commit given up; the partition's next owner repeats the ledger's range");
      });
    this.m.buffered.set(this.bufferedRows());
    this.log.debug({ batches: batches.length, rows: batches.reduce((n, b) => n + b.rows, 0), ms: Math.round(performance.now() - t0) }, "round written");
  }

  private async revoke(parts: { topic: string; partition: number }[]): Promise<void> {
    const gone = new Set(parts.map((p) => partitionKey(p.topic, p.partition)));
    for (const key of gone) this.partitions.delete(key);
    // Batches not yet handed to the writer have no ledger entry: the new owner reads them again and cuts
    // its own batches. The writer's current round finishes (its ranges are in the ledger).
    this.ready = this.ready.filter((b) => !gone.has(partitionKey(b.topic, b.partition)));
    await this.writing.catch(() => undefined);
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
    this.follower?.release();
    clearInterval(this.timer);
    clearInterval(this.lagTimer);
    this.consumer.pause();
    await this.serialize(async () => {
      // Everything read is written, except a range being repeated that is not complete yet (its records
      // will be read again, and the range repeated, by the next owner).
      for (const st of this.partitions.values()) if (!st.replay) this.cut(st);
      await this.write();
    }).catch((err: unknown) => this.log.error({ err: errorMessage(err) }, "final flush failed; records will be read again"));
    await this.consumer.disconnect();
    await this.follower?.stop();
    this.log.info("stopped");
  }

  async healthcheck(): Promise<void> {
    await this.deps.storage.healthcheck();
  }
}
