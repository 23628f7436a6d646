// The agent's graph of its host: nodes and edges with Skydive's bookkeeping fields, and a stream of
// changes (added, updated with a new Revision, deleted) for the publisher.
export type Metadata = Record<string, unknown>;

export interface GraphNode {
  ID: string;
  Host: string;
  Origin: string;
  Type: string;
  Name: string;
  Metadata: Metadata;
  CreatedAt: number;
  UpdatedAt: number;
  DeletedAt?: number;
  Revision: number;
}

export interface GraphEdge {
  ID: string;
  Host: string;
  Origin: string;
  Parent: string;
  Child: string;
  RelationType: string;
  Metadata: Metadata;
  CreatedAt: number;
  UpdatedAt: number;
  DeletedAt?: number;
  Revision: number;
}

export type GraphChange =
  { op: "ADD" | "UPDATE" | "DELETE"; node: GraphNode; edge?: undefined } | { op: "ADD" | "UPDATE" | "DELETE"; edge: GraphEdge; node?: undefined };

export interface NodeSpec {
  ID: string;
  Type: string;
  Name: string;
  Metadata: Metadata;
}

export interface EdgeSpec {
  ID: string;
  Parent: string;
  Child: string;
  RelationType: string;
  Metadata?: Metadata;
}

/** Key order does not matter; values compare as JSON. */
function sameJson(a: unknown, b: unknown): boolean {
  return stable(a) === stable(b);
}
function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stable((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

export class Graph {
  readonly nodes = new Map<string, GraphNode>();
  readonly edges = new Map<string, GraphEdge>();
  private readonly listeners = new Set<(c: GraphChange) => void>();
  private readonly owned = new Map<string, { nodes: Set<string>; edges: Set<string> }>();
  /** What the owning probe said of each node, before other probes' decorations. */
  private readonly base = new Map<string, NodeSpec>();
  /** Metadata that other probes add to a node: node id -> probe -> keys. Kept when the node is re-synced. */
  private readonly decorations = new Map<string, Map<string, Metadata>>();

  constructor(
    readonly host: string,
    readonly origin: string,
    private readonly clock: () => number = Date.now,
  ) {}

  onChange(fn: (c: GraphChange) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private emit(c: GraphChange): void {
    for (const l of this.listeners) l(c);
  }

  /** Adds the node or updates it when its name, type or metadata changed; returns it. */
  upsertNode(base: NodeSpec): GraphNode {
    this.base.set(base.ID, base);
    const deco = this.decorations.get(base.ID);
    const spec = deco && deco.size > 0 ? { ...base, Metadata: Object.assign({}, base.Metadata, ...deco.values()) } : base;
    const now = this.clock();
    const cur = this.nodes.get(spec.ID);
    if (!cur) {
      const node: GraphNode = { ...spec, Host: this.host, Origin: this.origin, CreatedAt: now, UpdatedAt: now, Revision: 1 };
      this.nodes.set(node.ID, node);
      this.emit({ op: "ADD", node });
      return node;
    }
    if (cur.Type === spec.Type && cur.Name === spec.Name && sameJson(cur.Metadata, spec.Metadata)) return cur;
    const node: GraphNode = { ...cur, Type: spec.Type, Name: spec.Name, Metadata: spec.Metadata, UpdatedAt: now, Revision: cur.Revision + 1 };
    this.nodes.set(node.ID, node);
    this.emit({ op: "UPDATE", node });
    return node;
  }

  /** Deletes the node and every edge touching it. */
  deleteNode(id: string): void {
    const cur = this.nodes.get(id);
    if (!cur) return;
    for (const e of [...this.edges.values()]) if (e.Parent === id || e.Child === id) this.deleteEdge(e.ID);
    this.nodes.delete(id);
    this.base.delete(id);
    const now = this.clock();
    this.emit({ op: "DELETE", node: { ...cur, DeletedAt: now, UpdatedAt: now } });
  }

  /**
   * Sets (or with undefined, clears) the metadata keys one probe adds to a node owned by another, such as
   * the sockets of a namespace. Applied now if the node exists, or when it appears.
   */
  decorate(owner: string, nodeId: string, metadata: Metadata | undefined): void {
    let byOwner = this.decorations.get(nodeId);
    if (!byOwner) this.decorations.set(nodeId, (byOwner = new Map()));
    if (metadata) byOwner.set(owner, metadata);
    else byOwner.delete(owner);
    if (byOwner.size === 0) this.decorations.delete(nodeId);
    const base = this.base.get(nodeId);
    if (base) this.upsertNode(base);
  }

  upsertEdge(spec: EdgeSpec): GraphEdge {
    const now = this.clock();
    const cur = this.edges.get(spec.ID);
    const metadata = spec.Metadata ?? {};
    if (!cur) {
      const edge: GraphEdge = { ...spec, Metadata: metadata, Host: this.host, Origin: this.origin, CreatedAt: now, UpdatedAt: now, Revision: 1 };
      this.edges.set(edge.ID, edge);
      this.emit({ op: "ADD", edge });
      return edge;
    }
    if (sameJson(cur.Metadata, metadata)) return cur;
    const edge: GraphEdge = { ...cur, Metadata: metadata, UpdatedAt: now, Revision: cur.Revision + 1 };
    this.edges.set(edge.ID, edge);
    this.emit({ op: "UPDATE", edge });
    return edge;
  }

  deleteEdge(id: string): void {
    const cur = this.edges.get(id);
    if (!cur) return;
    this.edges.delete(id);
    const now = this.clock();
    this.emit({ op: "DELETE", edge: { ...cur, DeletedAt: now, UpdatedAt: now } });
  }

  /**
   * Makes the graph hold exactly `nodes` and `edges` for one owner (a probe's view of a namespace, say):
   * new ones are added, changed ones updated, the owner's others deleted. Edges go before their nodes.
   */
  sync(owner: string, nodes: NodeSpec[], edges: EdgeSpec[]): void {
    const prev = this.owned.get(owner) ?? { nodes: new Set<string>(), edges: new Set<string>() };
    const next = { nodes: new Set(nodes.map((n) => n.ID)), edges: new Set(edges.map((e) => e.ID)) };
    for (const id of prev.edges) if (!next.edges.has(id)) this.deleteEdge(id);
    for (const n of nodes) this.upsertNode(n);
    for (const e of edges) this.upsertEdge(e);
    for (const id of prev.nodes) if (!next.nodes.has(id)) this.deleteNode(id);
    this.owned.set(owner, next);
  }

  /** Removes everything an owner put in the graph. */
  drop(owner: string): void {
    this.sync(owner, [], []);
    this.owned.delete(owner);
  }

  /** Plain JSON view (what `skystream agent --print` shows). */
  toJSON(): { Nodes: GraphNode[]; Edges: GraphEdge[] } {
    return { Nodes: [...this.nodes.values()], Edges: [...this.edges.values()] };
  }
}
