// Finding things in the agent's graph: where an interface node lives (its namespace), and the interface
// node of a name in a namespace.
import type { Graph, GraphNode } from "./graph.js";

export interface InterfaceLocation {
  node: GraphNode;
  /** The namespace file to enter (e.g. /run/netns/a, /proc/123/ns/net); undefined for the host's own. */
  netns?: string;
}

/** The node that owns this one (host or netns), through its ownership edge. */
function ownerOf(graph: Graph, nodeId: string): GraphNode | undefined {
  for (const e of graph.edges.values()) {
    if (e.Child === nodeId && e.RelationType === "ownership") return graph.nodes.get(e.Parent);
  }
  return undefined;
}

/** Where an interface node is: its namespace path, undefined for the root namespace. */
export function locateInterface(graph: Graph, node: GraphNode): InterfaceLocation {
  const owner = ownerOf(graph, node.ID);
  const path = owner?.Type === "netns" ? owner.Metadata.Path : undefined;
  return { node, netns: typeof path === "string" ? path : undefined };
}

/** The interface node called `name` in the namespace `netns` (a path, or undefined for the root namespace). */
export function findInterface(graph: Graph, name: string, netns?: string): GraphNode | undefined {
  for (const n of graph.nodes.values()) {
    if (n.Name !== name || n.Type === "host" || n.Type === "netns") continue;
    if (locateInterface(graph, n).netns === netns) return n;
  }
  return undefined;
}
