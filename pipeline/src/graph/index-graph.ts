// The topology index seen as the graph a Gremlin query walks: at one instant (the live graph is the
// instant now), or over a period (every element that existed in it, in its last revision there).
// Elements are built in Skydive's shape once per revision and kept on it.
import type { GraphEdge, GraphNode, QueryGraph } from "../gremlin/graph.js";
import type { TopologyRevision } from "../storage/clickhouse/index.js";
import type { EdgeRevision, NodeRevision, TopologyIndex } from "./topology-index.js";

type WithShape<T> = { shape?: T };

/** A stored revision row in Skydive's shape. */
export function nodeShape(row: TopologyRevision, md: Record<string, unknown>): GraphNode {
  return {
    ID: row.ID,
    Host: row.Host,
    Origin: row.Origin,
    CreatedAt: row.CreatedAt,
    UpdatedAt: row.UpdatedAt,
    DeletedAt: row.DeletedAt,
    Revision: row.Revision,
    Metadata: md,
  };
}

export function edgeShape(row: TopologyRevision, md: Record<string, unknown>): GraphEdge {
  return { ...nodeShape(row, md), Parent: row.Parent, Child: row.Child };
}

const nodeOf = (r: NodeRevision & WithShape<GraphNode>) => (r.shape ??= nodeShape(r.row, r.md));
const edgeOf = (r: EdgeRevision & WithShape<GraphEdge>) => (r.shape ??= edgeShape(r.row, JSON.parse(r.row.Metadata) as Record<string, unknown>));

export class IndexGraph implements QueryGraph {
  /** Elements valid at some point of [t0, t1]; t0 = t1 for an instant. */
  constructor(
    private readonly index: TopologyIndex,
    private readonly t0: number,
    private readonly t1: number = t0,
  ) {}

  private nodeRev(id: string): NodeRevision | undefined {
    return this.index.node(id, this.t0, this.t1);
  }

  private edgeRev(id: string): EdgeRevision | undefined {
    const r = this.index.edge(id, this.t0, this.t1);
    // An edge whose end is not there (yet, or any more) is not in the graph.
    return r && this.nodeRev(r.parent) && this.nodeRev(r.child) ? r : undefined;
  }

  *nodes(): Iterable<GraphNode> {
    for (const id of this.index.nodeIds()) {
      const r = this.nodeRev(id);
      if (r) yield nodeOf(r);
    }
  }

  *edges(): Iterable<GraphEdge> {
    for (const id of this.index.edgeIds()) {
      const r = this.edgeRev(id);
      if (r) yield edgeOf(r);
    }
  }

  node(id: string): GraphNode | undefined {
    const r = this.nodeRev(id);
    return r && nodeOf(r);
  }

  edge(id: string): GraphEdge | undefined {
    const r = this.edgeRev(id);
    return r && edgeOf(r);
  }

  private around(id: string, side: "parent" | "child"): GraphEdge[] {
    const out: GraphEdge[] = [];
    for (const eid of this.index.edgeIdsOf(id, side)) {
      const r = this.edgeRev(eid);
      if (r && (side === "parent" ? r.parent : r.child) === id) out.push(edgeOf(r));
    }
    return out;
  }

  outEdges(id: string): readonly GraphEdge[] {
    return this.around(id, "parent");
  }

  inEdges(id: string): readonly GraphEdge[] {
    return this.around(id, "child");
  }
}
