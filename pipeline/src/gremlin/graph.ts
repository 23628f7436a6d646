// The graph a Gremlin query runs on: the live topology, the topology at a time t (from ClickHouse), or a
// subgraph built by SubGraph(). Elements have Skydive's shape: identity and bookkeeping at the top,
// everything else (Name, Type, RelationType, addresses…) in Metadata.

export interface GraphNode {
  ID: string;
  Host: string;
  Origin: string;
  CreatedAt: number;
  UpdatedAt: number;
  DeletedAt?: number | null;
  Revision: number;
  Metadata: Record<string, unknown>;
}

export interface GraphEdge extends GraphNode {
  Parent: string;
  Child: string;
}

export interface QueryGraph {
  nodes(): Iterable<GraphNode>;
  edges(): Iterable<GraphEdge>;
  node(id: string): GraphNode | undefined;
  edge(id: string): GraphEdge | undefined;
  /** Edges whose Parent is the node. */
  outEdges(id: string): readonly GraphEdge[];
  /** Edges whose Child is the node. */
  inEdges(id: string): readonly GraphEdge[];
  /** Candidates for key = value when the key is indexed (a superset is fine); undefined when it is not. */
  nodesBy?(key: string, value: unknown): Iterable<GraphNode> | undefined;
  /** Candidates (a superset) for IPV4 within [lo, hi), from an index of addresses. */
  nodesByIpv4Range?(lo: number, hi: number): Iterable<GraphNode>;
  edgesBy?(key: string, value: unknown): Iterable<GraphEdge> | undefined;
}

/** Keys graphs index for equality: nodes by type and name, edges by relation type. */
export const NODE_INDEXED = new Set(["Type", "Name"]);
export const EDGE_INDEXED = new Set(["RelationType"]);

const NONE: readonly GraphEdge[] = Object.freeze([]);

/** A graph held in maps, with adjacency lists; edges whose ends are missing are kept out. */
export class MemoryGraph implements QueryGraph {
  private readonly nodeMap = new Map<string, GraphNode>();
  private readonly edgeMap = new Map<string, GraphEdge>();
  private readonly out = new Map<string, GraphEdge[]>();
  private readonly in = new Map<string, GraphEdge[]>();
  private nodeIndex?: Map<string, GraphNode[]>;
  private edgeIndex?: Map<string, GraphEdge[]>;

  constructor(nodes: Iterable<GraphNode> = [], edges: Iterable<GraphEdge> = []) {
    for (const n of nodes) this.nodeMap.set(n.ID, n);
    for (const e of edges) this.addEdge(e);
  }

  nodesBy(key: string, value: unknown): Iterable<GraphNode> | undefined {
    if (!NODE_INDEXED.has(key) || typeof value !== "string") return undefined;
    if (!this.nodeIndex) {
      this.nodeIndex = new Map();
      for (const n of this.nodeMap.values())
        for (const k of NODE_INDEXED) {
          const v = n.Metadata[k];
          if (typeof v !== "string") continue;
          const list = this.nodeIndex.get(`${k}\0${v}`);
          if (list) list.push(n);
          else this.nodeIndex.set(`${k}\0${v}`, [n]);
        }
    }
    return this.nodeIndex.get(`${key}\0${value}`) ?? [];
  }

  edgesBy(key: string, value: unknown): Iterable<GraphEdge> | undefined {
    if (!EDGE_INDEXED.has(key) || typeof value !== "string") return undefined;
    if (!this.edgeIndex) {
      this.edgeIndex = new Map();
      for (const e of this.edgeMap.values()) {
        const v = e.Metadata.RelationType;
        if (typeof v !== "string") continue;
        const list = this.edgeIndex.get(v);
        if (list) list.push(e);
        else this.edgeIndex.set(v, [e]);
      }
    }
    return this.edgeIndex.get(value) ?? [];
  }

  addEdge(e: GraphEdge): void {
    this.edgeIndex = undefined;
    if (!this.nodeMap.has(e.Parent) || !this.nodeMap.has(e.Child) || this.edgeMap.has(e.ID)) return;
    this.edgeMap.set(e.ID, e);
    let o = this.out.get(e.Parent);
    if (!o) this.out.set(e.Parent, (o = []));
    o.push(e);
    let i = this.in.get(e.Child);
    if (!i) this.in.set(e.Child, (i = []));
    i.push(e);
  }

  get nodeCount(): number {
    return this.nodeMap.size;
  }
  get edgeCount(): number {
    return this.edgeMap.size;
  }
  nodes(): Iterable<GraphNode> {
    return this.nodeMap.values();
  }
  edges(): Iterable<GraphEdge> {
    return this.edgeMap.values();
  }
  node(id: string): GraphNode | undefined {
    return this.nodeMap.get(id);
  }
  edge(id: string): GraphEdge | undefined {
    return this.edgeMap.get(id);
  }
  outEdges(id: string): readonly GraphEdge[] {
    return this.out.get(id) ?? NONE;
  }
  inEdges(id: string): readonly GraphEdge[] {
    return this.in.get(id) ?? NONE;
  }
}

/** Top-level fields a key may name when Metadata has no such key. */
const TOP_LEVEL = new Set(["ID", "Host", "Origin", "CreatedAt", "UpdatedAt", "DeletedAt", "Revision", "Parent", "Child"]);

/**
 * The value at a dotted key: Metadata first (nested maps followed by dots, 'Ovs.Metric.RxBytes'), then an
 * element's own field. Undefined when absent.
 */
export function valueAt(el: GraphNode, key: string): unknown {
  const md = el.Metadata;
  if (key in md) return md[key];
  if (key.includes(".")) {
    let v: unknown = md;
    for (const part of key.split(".")) {
      if (v === null || typeof v !== "object" || Array.isArray(v)) return undefined;
      v = (v as Record<string, unknown>)[part];
      if (v === undefined) break;
    }
    if (v !== undefined) return v;
  }
  return TOP_LEVEL.has(key) ? (el as unknown as Record<string, unknown>)[key] : undefined;
}
