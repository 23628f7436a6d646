// Metadata the query API's update node rules add to nodes (DECORATION_* orders on the control topic):
// the API evaluates a rule's Gremlin query over the whole graph and lists the nodes it matches; this agent
// adds the rule's keys to the ones it has (now, or when they appear), and takes them off nodes that no
// longer match or when the rule is deleted. The decorated nodes are published like any change.
import type { ControlMessage } from "@skystream/schemas";
import type { Graph, Metadata } from "./graph.js";

export class RuleDecorations {
  /** Per rule, the nodes it decorates. */
  private readonly applied = new Map<string, Set<string>>();

  constructor(private readonly graph: Graph) {}

  /** One DECORATION_SET or DECORATION_DELETE order; other orders are not this one's. */
  apply(msg: ControlMessage): void {
    const d = msg.Decoration;
    if (!d || (msg.Op !== "DECORATION_SET" && msg.Op !== "DECORATION_DELETE")) return;
    const owner = `noderule/${d.UUID}`;
    const before = this.applied.get(d.UUID) ?? new Set<string>();
    const now = msg.Op === "DECORATION_SET" ? new Set(d.Nodes) : new Set<string>();
    for (const id of before) if (!now.has(id)) this.graph.decorate(owner, id, undefined);
    if (now.size > 0) {
      const metadata = JSON.parse(d.Metadata || "{}") as Metadata;
      for (const id of now) this.graph.decorate(owner, id, metadata);
      this.applied.set(d.UUID, now);
    } else this.applied.delete(d.UUID);
  }

  /** Rules applied here, with their node counts (for tests). */
  get rules(): Map<string, number> {
    return new Map([...this.applied].map(([k, v]) => [k, v.size]));
  }
}
