// Publishes an agent's graph as TopologyDeltas keyed by Origin (one agent's messages stay ordered in
// one partition): a snapshot (SNAPSHOT_BEGIN, every node, every edge, SNAPSHOT_END) at start, then each
// change as it happens, and a HEARTBEAT every interval so the pipeline can retire a vanished agent.
import { randomUUID } from "node:crypto";
import { TOPOLOGY_DELTA, type AvroCodec, type TopologyDelta } from "@skystream/schemas";
import { Counter, SendQueue, errorMessage, sharedMetric, type Logger, type MetricsRegistry, type OutMessage, type Producer } from "@skystream/common";
import { edgeToAvro, nodeToAvro } from "./delta.js";
import type { Graph, GraphChange } from "./graph.js";

/** Where deltas go: Kafka, or stdout in --print mode. */
export type DeltaSink = (deltas: TopologyDelta[]) => Promise<void>;

export class TopologyPublisher {
  private sequence = 0;
  private unsubscribe?: () => void;
  private heartbeat?: NodeJS.Timeout;
  private pending: Promise<void> = Promise.resolve();

  constructor(
    private readonly graph: Graph,
    private readonly sink: DeltaSink,
    private readonly heartbeatMs: number,
    private readonly log: Logger,
  ) {}

  private delta(op: TopologyDelta["Op"], extra: Partial<TopologyDelta> = {}): TopologyDelta {
    return {
      Op: op,
      Origin: this.graph.origin,
      Host: this.graph.host,
      Time: Date.now(),
      Sequence: ++this.sequence,
      SnapshotID: "",
      Node: null,
      Edge: null,
      ...extra,
    };
  }

  private changeToDelta(c: GraphChange): TopologyDelta {
    return c.node ? this.delta(c.op, { Node: nodeToAvro(c.node) }) : this.delta(c.op, { Edge: edgeToAvro(c.edge!) });
  }

  /** Sends a full snapshot, then follows the graph. */
  async start(): Promise<void> {
    // Changes that happen while the snapshot is sent queue behind it, in order.
    const buffered: GraphChange[] = [];
    let snapshotting = true;
    this.unsubscribe = this.graph.onChange((c) => {
      if (snapshotting) buffered.push(c);
      else this.send([this.changeToDelta(c)]);
    });
    await this.snapshot();
    snapshotting = false;
    if (buffered.length) this.send(buffered.map((c) => this.changeToDelta(c)));
    this.heartbeat = setInterval(() => this.send([this.delta("HEARTBEAT")]), this.heartbeatMs);
  }

  async snapshot(): Promise<void> {
    const id = randomUUID();
    const { Nodes, Edges } = this.graph.toJSON();
    const deltas = [
      this.delta("SNAPSHOT_BEGIN", { SnapshotID: id }),
      ...Nodes.map((n) => this.delta("ADD", { SnapshotID: id, Node: nodeToAvro(n) })),
      ...Edges.map((e) => this.delta("ADD", { SnapshotID: id, Edge: edgeToAvro(e) })),
      this.delta("SNAPSHOT_END", { SnapshotID: id }),
    ];
    this.send(deltas);
    await this.pending;
    this.log.info({ snapshot: id, nodes: Nodes.length, edges: Edges.length }, "topology snapshot published");
  }

  private send(deltas: TopologyDelta[]): void {
    this.pending = this.pending.then(() => this.sink(deltas)).catch((err: unknown) => this.log.error({ err: errorMessage(err) }, "topology publish failed"));
  }

  /** Resolves when everything sent so far is accepted. */
  flush(): Promise<void> {
    return this.pending;
  }

  async stop(): Promise<void> {
    clearInterval(this.heartbeat);
    this.unsubscribe?.();
    // A last heartbeat: what this agent published (its last flows included) is known to be complete up to now.
    if (this.heartbeat) this.send([this.delta("HEARTBEAT")]);
    await this.pending;
  }
}

/** A DeltaSink producing Avro to Kafka, keyed by Origin, through a bounded send queue. */
export function kafkaDeltaSink(producer: Producer, codec: AvroCodec, topic: string, log: Logger, registry: MetricsRegistry): DeltaSink {
  // Shared: the all-in-one's agent and its API's topology manager both publish topology.
  const published = sharedMetric(
    registry,
    "skystream_agent_topology_deltas_total",
    () =>
      new Counter({ name: "skystream_agent_topology_deltas_total", help: "Topology deltas acknowledged by Kafka", labelNames: ["op"], registers: [registry] }),
  );
  const queue = new SendQueue(producer, topic, {
    batchSize: 1000,
    maxInFlight: 1, // one in flight: deltas of an origin must stay in order
    maxBuffered: 100_000,
    onError: (err, attempt, wait) => log.error({ err: errorMessage(err), attempt, retry_in_ms: wait }, "publishing topology failed; retrying"),
  });
  return async (deltas) => {
    const messages: OutMessage[] = deltas.map((d) => ({ key: d.Origin, value: codec.encode(TOPOLOGY_DELTA, d, topic) }));
    await queue.enqueue(messages);
    await queue.flush();
    for (const d of deltas) published.inc({ op: d.Op });
  };
}
