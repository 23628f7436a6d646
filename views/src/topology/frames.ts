// The topology in Grafana's Node Graph contract, both ways, as plain columns (no Grafana library here):
// what our panel hands to Grafana's built-in Node Graph, and what it reads back from frames named
// `nodes` and `edges` (the dashboards' SQL through the ClickHouse data source), so one panel draws either.
// Nodes: id, title, subtitle, mainstat, color, detail__*; edges: id, source, target, mainstat, strokeDasharray.
import type { ApiGraph, TopologyModel } from "./model.js";

export type Columns = Record<string, unknown[]>;

const STATE_COLOR = { up: "green", down: "red", unknown: "gray" } as const;

/** Node Graph frames of a model: every node, every edge (ownership and links) with both ends present. */
export function toNodeGraphFrames(model: TopologyModel): { nodes: Columns; edges: Columns } {
  const nodes: Columns = { id: [], title: [], subtitle: [], mainstat: [], color: [], detail__host: [], detail__state: [] };
  for (const n of model.nodes.values()) {
    nodes.id!.push(n.id);
    nodes.title!.push(n.name);
    nodes.subtitle!.push(n.type);
    nodes.mainstat!.push(n.children.length ? `${n.children.length} inside` : "");
    nodes.color!.push(STATE_COLOR[n.state]);
    nodes.detail__host!.push(n.host);
    nodes.detail__state!.push(n.state);
  }
  const edges: Columns = { id: [], source: [], target: [], mainstat: [], strokeDasharray: [] };
  const push = (id: string, source: string, target: string, relation: string) => {
    edges.id!.push(id);
    edges.source!.push(source);
    edges.target!.push(target);
    edges.mainstat!.push(relation);
    edges.strokeDasharray!.push(relation === "ownership" ? "4 4" : "");
  };
  for (const n of model.nodes.values()) if (n.parent !== undefined) push(`${n.parent}>${n.id}`, n.parent, n.id, "ownership");
  for (const l of model.links) push(l.id, l.source, l.target, l.relation);
  return { nodes, edges };
}

/**
 * The graph in frames named nodes and edges (Node Graph fields; detail__* become metadata): subtitle is the
 * Type, title the Name, an edge's mainstat its RelationType. Edges with an end missing are dropped.
 */
export function fromNodeGraphFrames(nodes: Columns, edges: Columns): ApiGraph {
  const col = (c: Columns, name: string) => c[name] ?? [];
  const ids = col(nodes, "id");
  const graph: ApiGraph = { Nodes: [], Edges: [] };
  const details = Object.keys(nodes).filter((k) => k.startsWith("detail__"));
  const present = new Set<string>();
  ids.forEach((id, i) => {
    const md: Record<string, unknown> = { Name: String(col(nodes, "title")[i] ?? id), Type: String(col(nodes, "subtitle")[i] ?? "") };
    for (const d of details) {
      const key = d.slice("detail__".length);
      const v = nodes[d]![i];
      if (v !== undefined && v !== null && v !== "") md[key === "state" ? "State" : key] = key === "state" ? String(v).toUpperCase() : v;
    }
    const host = md.host;
    delete md.host;
    graph.Nodes.push({ ID: String(id), Host: host === undefined ? "" : String(host), Metadata: md });
    present.add(String(id));
  });
  col(edges, "id").forEach((id, i) => {
    const source = String(col(edges, "source")[i]);
    const target = String(col(edges, "target")[i]);
    if (!present.has(source) || !present.has(target)) return;
    graph.Edges.push({ ID: String(id), Parent: source, Child: target, Metadata: { RelationType: String(col(edges, "mainstat")[i] ?? "") } });
  });
  return graph;
}
