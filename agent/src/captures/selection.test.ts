import { test } from "node:test";
import assert from "node:assert/strict";
import type { GraphNode } from "../graph/graph.js";
import { SelectionError, matches, parseSelection } from "./selection.js";

const node = (ID: string, Name: string, Type: string, Metadata: Record<string, unknown> = {}): GraphNode => ({
  ID,
  Name,
  Type,
  Host: "h1",
  Origin: "agent.h1",
  Metadata: { TID: ID, ...Metadata },
  CreatedAt: 0,
  UpdatedAt: 0,
  Revision: 1,
});
const nodes = [
  node("n1", "eth0", "device", { IfIndex: 2, MTU: 1500 }),
  node("n2", "veth1", "veth", { IfIndex: 7, MTU: 9000, Ovs: { DatapathType: "netdev" } }),
  node("n3", "br0", "ovsbridge"),
];
const select = (q: string) =>
  nodes
    .filter((n) => matches(parseSelection(q), n))
    .map((n) => n.ID)
    .join(",");

test("node selections: G.V(), ids, Has pairs, key existence, predicates, dotted keys", () => {
  assert.equal(select("G.V()"), "n1,n2,n3");
  assert.equal(select("g.V('n2')"), "n2");
  assert.equal(select(`G.V().Has('Name', 'eth0')`), "n1");
  assert.equal(select(`G.V().Has("Type", "veth", "MTU", 9000)`), "n2");
  assert.equal(select("G.V().Has('IfIndex')"), "n1,n2");
  assert.equal(select("G.V().Has('Name', Regex('eth.*|br.*'))"), "n1,n3");
  assert.equal(select("G.V().Has('Type', Within('device', 'ovsbridge'))"), "n1,n3");
  assert.equal(select("G.V().Has('Type', Without('device'))"), "n2,n3");
  assert.equal(select("G.V().Has('MTU', Ne(1500))"), "n2");
  assert.equal(select("G.V().Has('Ovs.DatapathType', 'netdev')"), "n2");
  assert.equal(select("G.V().Has('Type', 'veth').Has('IfIndex', 7)"), "n2");
});

test("node selections outside the subset are refused with what is supported", () => {
  for (const q of ["G.V().Out()", "V()", "G.V().Has('Name',", "G.V().Has('Name', Lt(3))", "G.V().Has('a', 'b', 'c')"]) {
    assert.throws(() => parseSelection(q), SelectionError, q);
  }
  assert.throws(() => parseSelection("G.V().Both()"), /supported until the Gremlin engine/);
});
