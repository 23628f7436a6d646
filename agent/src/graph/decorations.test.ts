// Decorations ordered by the query API's update node rules: added to the listed nodes this agent has (and
// to those that appear later), moved when the list changes, taken off when the rule is deleted; the
// owner's own metadata is never lost.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ControlMessage } from "@skystream/schemas";
import { Graph } from "./graph.js";
import { RuleDecorations } from "./decorations.js";

const order = (Op: ControlMessage["Op"], Nodes: string[], Metadata = '{"Rack":"r12"}'): ControlMessage => ({
  Op,
  Time: 0,
  Capture: null,
  Decoration: { UUID: "rule-1", Nodes, Metadata },
});

test("rule decorations: set on listed nodes (now or when they appear), moved with the list, removed with the rule", () => {
  const g = new Graph("h1", "agent.h1");
  const d = new RuleDecorations(g);
  const node = (ID: string, MTU = 1500) => g.upsertNode({ ID, Type: "veth", Name: ID, Metadata: { MTU } });
  node("a");
  node("b");
  d.apply(order("DECORATION_SET", ["a", "c"]));
  assert.equal(g.nodes.get("a")!.Metadata.Rack, "r12");
  assert.equal(g.nodes.get("a")!.Metadata.MTU, 1500, "the owner's metadata stays");
  assert.equal(g.nodes.get("b")!.Metadata.Rack, undefined);
  node("c");
  assert.equal(g.nodes.get("c")!.Metadata.Rack, "r12", "a listed node that appears later");
  node("a", 9000);
  assert.deepEqual(g.nodes.get("a")!.Metadata, { MTU: 9000, Rack: "r12" }, "kept through the owner's updates");

  d.apply(order("DECORATION_SET", ["b"]));
  assert.equal(g.nodes.get("a")!.Metadata.Rack, undefined, "no longer listed");
  assert.equal(g.nodes.get("b")!.Metadata.Rack, "r12");
  d.apply(order("CAPTURE_SET", ["a"]));
  assert.equal(g.nodes.get("a")!.Metadata.Rack, undefined, "not a decoration order");
  d.apply(order("DECORATION_DELETE", []));
  assert.equal(g.nodes.get("b")!.Metadata.Rack, undefined, "the rule is gone");
  assert.equal(d.rules.size, 0);
});
