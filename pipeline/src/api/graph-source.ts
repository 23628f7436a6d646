// Where a query's graph comes from: the live graph and the recent past from the topology followed in
// memory (complete for the follower's window), older times from ClickHouse's topology history.
import type { GraphSource } from "../gremlin/evaluate.js";
import type { FlowStore } from "../gremlin/flows.js";
import { MemoryGraph, type QueryGraph } from "../gremlin/graph.js";
import { IndexGraph, edgeShape, nodeShape } from "../graph/index-graph.js";
import type { TopologyIndex } from "../graph/topology-index.js";
import type { TopologyRevision, TopologyTables } from "../storage/clickhouse/index.js";

const toGraph = ({ nodes, edges }: { nodes: TopologyRevision[]; edges: TopologyRevision[] }): QueryGraph =>
  new MemoryGraph(
    nodes.map((r) => nodeShape(r, JSON.parse(r.Metadata) as Record<string, unknown>)),
    edges.map((r) => edgeShape(r, JSON.parse(r.Metadata) as Record<string, unknown>)),
  );

export class TopologyGraphSource implements GraphSource {
  constructor(
    private readonly index: TopologyIndex,
    private readonly tables: TopologyTables,
    /** Since when the index is complete (its start, then its window behind now). */
    private readonly completeSince: () => number,
    readonly flows?: FlowStore,
    private readonly now: () => number = Date.now,
  ) {}

  live(): QueryGraph {
    return new IndexGraph(this.index, this.now());
  }

  async at(t: number): Promise<QueryGraph> {
    return t >= this.completeSince() ? new IndexGraph(this.index, t) : toGraph(await this.tables.at(t));
  }

  async during(t0: number, t1: number): Promise<QueryGraph> {
    return t0 >= this.completeSince() ? new IndexGraph(this.index, t0, t1) : toGraph(await this.tables.during(t0, t1));
  }
}
