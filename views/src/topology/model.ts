// The topology as a view sees it: the API's graph ({Nodes, Edges}, Skydive's shape) turned into a tree by
// ownership (host ⊃ netns ⊃ interfaces, bridge ⊃ ports…) and the other relations (layer2, …) as links
// between the tree's nodes. A node with several owners stays under the first one met (in ID order, so the
// same graph always gives the same tree); an ownership cycle is broken where it would close.

export interface ApiNode {
  ID: string;
  Host?: string;
  Metadata: Record<string, unknown>;
}

export interface ApiEdge {
  ID: string;
  Parent: string;
  Child: string;
  Metadata: Record<string, unknown>;
}

export interface ApiGraph {
  Nodes: ApiNode[];
  Edges: ApiEdge[];
}

export type NodeState = "up" | "down" | "unknown";

export interface ViewNode {
  id: string;
  name: string;
  type: string;
  host: string;
  state: NodeState;
  parent?: string;
  children: string[];
  metadata: Record<string, unknown>;
}

export interface ViewLink {
  id: string;
  source: string;
  target: string;
  relation: string;
  /** Traffic over the link, in bits per second, when the data says (edge metadata `Bps`). */
  bps?: number;
}

export interface TopologyModel {
  nodes: Map<string, ViewNode>;
  /** Nodes without an owner, in display order. */
  roots: string[];
  /** Edges other than ownership, both ends present. */
  links: ViewLink[];
}

const OWNERSHIP = "ownership";
/** Display order of siblings: by kind, then name. */
const TYPE_ORDER = ["host", "netns", "ovsbridge", "bridge", "container", "device", "veth", "ovsport", "interface"];
const rank = (t: string) => {
  const i = TYPE_ORDER.indexOf(t);
  return i < 0 ? TYPE_ORDER.length : i;
};

export function stateOf(md: Record<string, unknown>): NodeState {
  const s = String(md.State ?? "").toUpperCase();
  return s === "UP" ? "up" : s === "DOWN" ? "down" : "unknown";
}

export function buildModel(graph: ApiGraph): TopologyModel {
  const nodes = new Map<string, ViewNode>();
  for (const n of graph.Nodes)
    nodes.set(n.ID, {
      id: n.ID,
      name: String(n.Metadata.Name ?? n.ID),
      type: String(n.Metadata.Type ?? ""),
      host: n.Host ?? "",
      state: stateOf(n.Metadata),
      children: [],
      metadata: n.Metadata,
    });
  const links: ViewLink[] = [];
  const ownership = [...graph.Edges].sort((a, b) => (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0));
  for (const e of ownership) {
    const parent = nodes.get(e.Parent);
    const child = nodes.get(e.Child);
    if (!parent || !child) continue;
    const relation = String(e.Metadata.RelationType ?? "");
    if (relation !== OWNERSHIP) {
      const bps = Number(e.Metadata.Bps);
      links.push({ id: e.ID, source: e.Parent, target: e.Child, relation, ...(bps > 0 ? { bps } : {}) });
      continue;
    }
    if (child.parent !== undefined || isAncestor(nodes, child.id, parent.id)) continue;
    child.parent = parent.id;
    parent.children.push(child.id);
  }
  const order = (ids: string[]) =>
    ids.sort((a, b) => {
      const x = nodes.get(a)!;
      const y = nodes.get(b)!;
      return rank(x.type) - rank(y.type) || (x.name < y.name ? -1 : x.name > y.name ? 1 : x.id < y.id ? -1 : 1);
    });
  for (const n of nodes.values()) order(n.children);
  const roots = order([...nodes.values()].filter((n) => n.parent === undefined).map((n) => n.id));
  return { nodes, roots, links };
}

/** Whether `a` is `b` or one of its owners. */
function isAncestor(nodes: Map<string, ViewNode>, a: string, b: string): boolean {
  for (let cur: string | undefined = b; cur !== undefined; cur = nodes.get(cur)?.parent) if (cur === a) return true;
  return false;
}

/**
 * Nodes matching a search, case-insensitively: by name, type, or a metadata value (an address, a MAC, a
 * driver…), one level into arrays and objects. The web UI and the panel search the same way.
 */
export function searchNodes(model: TopologyModel, query: string): Set<string> {
  const q = query.trim().toLowerCase();
  const found = new Set<string>();
  if (!q) return found;
  const hit = (v: unknown): boolean => {
    if (typeof v === "string" || typeof v === "number") return String(v).toLowerCase().includes(q);
    if (Array.isArray(v)) return v.some((x) => (typeof x === "string" || typeof x === "number") && String(x).toLowerCase().includes(q));
    return false;
  };
  for (const n of model.nodes.values())
    if (n.name.toLowerCase().includes(q) || n.type.toLowerCase() === q || Object.values(n.metadata).some(hit)) found.add(n.id);
  return found;
}
