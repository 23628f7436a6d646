// Probe "fabric": static nodes and links from config, for what no probe can see (switches, cables).
// Node ids come from the NAME alone, so every agent describing the same switch names the same node.
import { edgeId, uuidv5 } from "../../../graph/ids.js";
import type { EdgeSpec, GraphNode, NodeSpec } from "../../../graph/graph.js";
import type { TopologyProbe, TopologyProbeDeps } from "../types.js";
import type { FabricConfig } from "./config.js";
import { parseFabric, type Attrs, type FabricNodeDef } from "./parse.js";

const fabricId = (name: string) => uuidv5("fabric", name);

function matches(n: GraphNode, filter: Attrs): boolean {
  return Object.entries(filter).every(([k, v]) => {
    const actual = k === "Name" ? n.Name : k === "Type" ? n.Type : n.Metadata[k];
    return actual === v || String(actual) === String(v);
  });
}

export class FabricProbe implements TopologyProbe {
  readonly id: string;
  private readonly links;
  private unsubscribe?: () => void;
  private timer?: NodeJS.Timeout;

  constructor(
    cfg: FabricConfig,
    private readonly deps: TopologyProbeDeps,
  ) {
    this.id = deps.id;
    this.links = parseFabric(cfg.links);
  }

  async start(): Promise<void> {
    this.build();
    // Wildcard links follow the graph: an interface that appears later is linked then.
    if (this.links.some((l) => "wildcard" in l.child)) {
      this.unsubscribe = this.deps.graph.onChange((c) => {
        if (c.op !== "UPDATE") this.timer ??= setTimeout(() => ((this.timer = undefined), this.build()), 20);
      });
    }
  }

  private build(): void {
    const nodes = new Map<string, NodeSpec>();
    const edges: EdgeSpec[] = [];
    const define = (d: FabricNodeDef): string => {
      const id = fabricId(d.name);
      if (!nodes.has(id)) {
        const { Name, Type, ...rest } = d.attrs;
        nodes.set(id, { ID: id, Type: String(Type ?? "device"), Name: String(Name ?? d.name), Metadata: { TID: id, ...rest, Probe: "fabric" } });
      }
      return id;
    };
    const g = this.deps.graph;
    for (const l of this.links) {
      const parent = define(l.parent);
      const meta = { ...l.linkAttrs, Type: "fabric" };
      if ("wildcard" in l.child) {
        const { wildcard, name, attrs } = l.child;
        for (const e of g.edges.values()) {
          if (e.RelationType !== "ownership") continue;
          const owner = g.nodes.get(e.Parent);
          const child = g.nodes.get(e.Child);
          if (!owner || !child || child.Name !== name || !matches(owner, wildcard) || !matches(child, attrs)) continue;
          edges.push({ ID: edgeId(parent, child.ID, "layer2"), Parent: parent, Child: child.ID, RelationType: "layer2", Metadata: meta });
        }
        continue;
      }
      const child = define(l.child);
      if (l.ownership) edges.push({ ID: edgeId(parent, child, "ownership"), Parent: parent, Child: child, RelationType: "ownership", Metadata: meta });
      edges.push({ ID: edgeId(parent, child, "layer2"), Parent: parent, Child: child, RelationType: "layer2", Metadata: meta });
    }
    g.sync(this.id, [...nodes.values()], edges);
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    clearTimeout(this.timer);
  }
}
