// The topology in Grafana's Node Graph contract, both ways, as plain columns (no Grafana library here):
// what our panel hands to Grafana's built-in Node Graph, and what it reads back from frames named
// `nodes` and `edges` (the dashboards' SQL through the ClickHouse data source), so one panel draws either.
// Nodes: id, title, subtitle, mainstat, color, detail__*; edges: id, source, target, mainstat (the relation),
// strokeDasharray, and for traffic secondarystat (readable), thickness and detail__bps (bits per second).
import type { ApiGraph, TopologyModel } from "./model.js";
import { formatBitrate } from "../flows/matrix.js";

export type Columns = Record<string, unknown[]>;

const STATE_COLOR = { up: "green", down: "red", unknown: "gray" } as const;

/** Node Graph frames of a model: every node, every edge (ownership and links) with both ends present. */
export function toNodeGraphFrames(model: TopologyModel): { nodes: Columns; edges: Columns } {
  const nodes: Columns = {
    id: [],
    title: [],
    subtitle: [],
    mainstat: [],
    color: [],
    detail__host: [],
    detail__state: [],
    detail__ipv4: [],
    detail__ipv6: [],
    detail__mac: [],
  };
  const list = (v: unknown) => (Array.isArray(v) ? v.join(" ") : v === undefined ? "" : String(v));
  for (const n of model.nodes.values()) {
    nodes.id!.push(n.id);
    nodes.title!.push(n.name);
    nodes.subtitle!.push(n.type);
    nodes.mainstat!.push(n.children.length ? `${n.children.length} inside` : "");
    nodes.color!.push(STATE_COLOR[n.state]);
    nodes.detail__host!.push(n.host);
    nodes.detail__state!.push(n.state);
    nodes.detail__ipv4!.push(list(n.metadata.IPV4));
    nodes.detail__ipv6!.push(list(n.metadata.IPV6));
    nodes.detail__mac!.push(list(n.metadata.MAC));
  }
  const edges: Columns = { id: [], source: [], target: [], mainstat: [], secondarystat: [], thickness: [], detail__bps: [], strokeDasharray: [] };
  const push = (id: string, source: string, target: string, relation: string, bps = 0) => {
    edges.id!.push(id);
    edges.source!.push(source);
    edges.target!.push(target);
    edges.mainstat!.push(relation);
    edges.secondarystat!.push(bps > 0 ? formatBitrate(bps) : "");
    edges.thickness!.push(linkThickness(bps));
    edges.detail__bps!.push(bps);
    edges.strokeDasharray!.push(relation === "ownership" ? "4 4" : "");
  };
  for (const n of model.nodes.values()) if (n.parent !== undefined) push(`${n.parent}>${n.id}`, n.parent, n.id, "ownership");
  for (const l of model.links) push(l.id, l.source, l.target, l.relation, l.bps);
  return { nodes, edges };
}

/**
 * The graph in frames named nodes and edges (Node Graph fields; detail__* become metadata, with Skydive's
 * names for state, ipv4, ipv6 and mac): subtitle is the Type, title the Name, an edge's mainstat its
 * RelationType. Edges with an end missing are dropped.
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
      if (v === undefined || v === null || v === "") continue;
      if (key === "state") md.State = String(v).toUpperCase();
      else if (key === "ipv4" || key === "ipv6")
        md[key.toUpperCase()] = String(v)
          .split(/[\s,]+/)
          .filter(Boolean);
      else if (key === "mac") md.MAC = String(v);
      else md[key] = v;
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
    const md: Record<string, unknown> = { RelationType: String(col(edges, "mainstat")[i] ?? "") };
    const bps = Number(col(edges, "detail__bps")[i] ?? 0);
    if (bps > 0) md.Bps = bps;
    graph.Edges.push({ ID: String(id), Parent: source, Child: target, Metadata: md });
  });
  return graph;
}

/** A link's width for its traffic: 1 px idle, one more per decade above 1 kb/s, at most 8. */
export function linkThickness(bps: number | undefined): number {
  return bps && bps > 1000 ? Math.min(8, 1 + Math.log10(bps / 1000)) : 1;
}
