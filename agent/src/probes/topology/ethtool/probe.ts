// Probe "ethtool": driver, firmware, bus, link settings and active features of every interface that
// netlink reports, added to its node. Looked up when an interface appears or changes state.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { errorMessage } from "@skystream/common";
import type { GraphChange, GraphNode } from "../../../graph/graph.js";
import type { TopologyProbe, TopologyProbeDeps } from "../types.js";
import { ethtoolInfo } from "./ethtool.js";

const NOT_INTERFACES = new Set(["host", "netns"]);

export class EthtoolProbe implements TopologyProbe {
  readonly id: string;
  private unsubscribe?: () => void;
  private readonly queue = new Set<string>();
  private readonly lastState = new Map<string, unknown>();
  private draining?: Promise<void>;
  private stopped = false;

  constructor(private readonly deps: TopologyProbeDeps) {
    this.id = deps.id;
  }

  async start(): Promise<void> {
    try {
      await promisify(execFile)("ethtool", ["--version"]);
    } catch (err) {
      throw new Error(`ethtool is not installed or cannot run (${errorMessage(err)}); install the ethtool package`);
    }
    this.unsubscribe = this.deps.graph.onChange((c) => this.onChange(c));
    // In the background: three ethtool runs per interface take seconds on a host of hundreds of veths, and
    // the agent's first snapshot need not wait for them (the decorations follow as updates).
    for (const n of this.deps.graph.nodes.values()) this.enqueue(n);
  }

  private onChange(c: GraphChange): void {
    if (!c.node || NOT_INTERFACES.has(c.node.Type)) return;
    if (c.op === "DELETE") {
      this.lastState.delete(c.node.ID);
      this.deps.graph.decorate(this.id, c.node.ID, undefined);
      return;
    }
    // Our own decorations come back as updates: look again only when the link state changed.
    if (c.op === "UPDATE" && this.lastState.get(c.node.ID) === c.node.Metadata.State) return;
    this.enqueue(c.node);
  }

  private enqueue(n: GraphNode): void {
    if (NOT_INTERFACES.has(n.Type)) return;
    this.lastState.set(n.ID, n.Metadata.State);
    this.queue.add(n.ID);
    // Let the node's edges land first (the namespace is found through its ownership edge).
    this.draining ??= new Promise<void>((r) => setTimeout(r, 20)).then(() => this.drain());
  }

  private namespaceOf(id: string): string {
    const g = this.deps.graph;
    for (const e of g.edges.values()) {
      if (e.Child === id && e.RelationType === "ownership") {
        const parent = g.nodes.get(e.Parent);
        return parent?.Type === "netns" ? parent.Name : "";
      }
    }
    return "";
  }

  private async drain(): Promise<void> {
    while (this.queue.size > 0 && !this.stopped) {
      const ids = [...this.queue].slice(0, 16);
      for (const id of ids) this.queue.delete(id);
      await Promise.all(
        ids.map(async (id) => {
          const node = this.deps.graph.nodes.get(id);
          if (!node) return;
          const info = await ethtoolInfo(this.namespaceOf(id), node.Name);
          if (this.deps.graph.nodes.has(id) && !this.stopped) this.deps.graph.decorate(this.id, id, Object.keys(info).length ? { ...info } : undefined);
        }),
      );
    }
    this.draining = undefined;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    await this.draining;
  }
}
