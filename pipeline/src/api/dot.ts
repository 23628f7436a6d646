// Graphviz DOT of a graph result, labelled as Skydive did: a node's name and short id, then its type,
// ifindex, state, TID and addresses; edges by relation type, layer-2 links drawn both ways.
import type { GraphEdge, GraphNode } from "../gremlin/graph.js";

const quote = (s: string) => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;

function label(n: GraphNode): string {
  const md = n.Metadata;
  const lines = [`${String(md.Name ?? "")}-${n.ID.slice(0, 8)}`];
  for (const k of ["Type", "IfIndex", "State", "TID"]) if (md[k] !== undefined && md[k] !== "") lines.push(`${k}: ${String(md[k])}`);
  for (const k of ["IPV4", "IPV6"]) if (Array.isArray(md[k]) && md[k].length > 0) lines.push(`${k}: ${(md[k] as unknown[]).join(", ")}`);
  return lines.join("\n");
}

export function toDot(nodes: Iterable<GraphNode>, edges: Iterable<GraphEdge>): string {
  const out = ["digraph skystream {", '  node [shape=box, fontname="monospace"];'];
  const ids = new Set<string>();
  for (const n of nodes) {
    ids.add(n.ID);
    out.push(`  ${quote(n.ID)} [label=${quote(label(n))}${n.Metadata.State === "DOWN" ? ", color=red" : ""}];`);
  }
  for (const e of edges) {
    if (!ids.has(e.Parent) || !ids.has(e.Child)) continue;
    const rel = String(e.Metadata.RelationType ?? "");
    out.push(`  ${quote(e.Parent)} -> ${quote(e.Child)} [label=${quote(rel)}${rel === "layer2" ? ", dir=both" : ""}];`);
  }
  out.push("}");
  return `${out.join("\n")}\n`;
}
