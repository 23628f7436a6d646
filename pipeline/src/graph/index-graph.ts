// The topology index seen as the graph a Gremlin query walks: at one instant (the live graph is the
// instant now), or over a period (every element that existed in it, in its last revision there).
// Elements are built in Skydive's shape once per revision and kept on it.
import { EDGE_INDEXED, NODE_INDEXED, type GraphEdge, type GraphNode, type QueryGraph } from "../gremlin/graph.js";
import type { TopologyRevision } from "../storage/clickhouse/index.js";
import type { EdgeRevision, NodeRevision, TopologyIndex } from "./topology-index.js";

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

const nodeOf = (r: NodeRevision) => (r.shape ??= nodeShape(r.row, r.md)) as GraphNode;
const edgeOf = (r: EdgeRevision) => (r.shape ??= edgeShape(r.row, JSON.parse(r.row.Metadata) as Record<string, unknown>)) as GraphEdge;

/** Ids mapped to elements as they are iterated, skipping those with none. */
function lazy<T>(ids: Iterable<string>, get: (id: string) => T | undefined): Iterable<T> {
  return {
    [Symbol.iterator]: () => {
      const it = ids[Symbol.iterator]();
      return {
        next: (): IteratorResult<T> => {
          for (let n = it.next(); !n.done; n = it.next()) {
            const v = get(n.value);
            if (v !== undefined) return { value: v, done: false };
          }
          return { value: undefined, done: true };
        },
      };
    },
  };
}

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

  nodes(): Iterable<GraphNode> {
    return this.nodesWithIds(this.index.nodeIds());
  }

  edges(): Iterable<GraphEdge> {
    return this.edgesWithIds(this.index.edgeIds());
  }

  /** The nodes of these ids valid here, read as they are iterated (a Limit stops early; no generator: they cost a third more). */
  private nodesWithIds(ids: Iterable<string>): Iterable<GraphNode> {
    return lazy(ids, (id) => {
      const r = this.nodeRev(id);
      return r && nodeOf(r);
    });
  }

  private edgesWithIds(ids: Iterable<string>): Iterable<GraphEdge> {
    return lazy(ids, (id) => {
      const r = this.edgeRev(id);
      return r && edgeOf(r);
    });
  }

  nodesBy(key: string, value: unknown): Iterable<GraphNode> | undefined {
    if (!NODE_INDEXED.has(key) || typeof value !== "string") return undefined;
    return this.nodesWithIds(this.index.nodeIdsBy(key as "Type" | "Name", value));
  }

  nodesByIpv4Range(lo: number, hi: number): Iterable<GraphNode> {
    return this.nodesWithIds(this.index.nodeIdsInIpv4Range(lo, hi));
  }

  edgesBy(key: string, value: unknown): Iterable<GraphEdge> | undefined {
    if (!EDGE_INDEXED.has(key) || typeof value !== "string") return undefined;
    return this.edgesWithIds(this.index.edgeIdsBy(value));
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
