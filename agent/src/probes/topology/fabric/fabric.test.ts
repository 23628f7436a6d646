import { test } from "node:test";
import assert from "node:assert/strict";
import pino from "pino";
import { createRegistry } from "@skystream/common";
import { Graph } from "../../../graph/graph.js";
import { hostNodeId, interfaceNodeId } from "../../../graph/ids.js";
import { fabric } from "./index.js";
import { FabricSyntaxError, parseFabric } from "./parse.js";

const LINKS = [
  "TOR1[Name=tor1, Type=switch] -> TOR1_PORT1[Name=port1]",
  "TOR1 -> [color=red] TOR1_PORT2[Name=port2, MTU=1500]",
  "TOR2[Name=tor2] -> TOR2_PORT1[Name=port1]",
  "TOR2_PORT1 --> TOR1_PORT1",
  "TOR1_PORT2 --> *[Type=host]/eth0",
];

test("fabric syntax: nodes, links, attributes, wildcards, errors", () => {
  const links = parseFabric(LINKS);
  assert.deepEqual(links[0]!.parent, { name: "TOR1", attrs: { Name: "tor1", Type: "switch" } });
  assert.deepEqual(links[1]!.linkAttrs, { color: "red" });
  assert.deepEqual(links[1]!.child, { name: "TOR1_PORT2", attrs: { Name: "port2", MTU: 1500 } });
  assert.equal(links[3]!.ownership, false);
  assert.deepEqual(links[4]!.child, { wildcard: { Type: "host" }, name: "eth0", attrs: {} });
  assert.throws(() => parseFabric(["A B"]), FabricSyntaxError);
  assert.throws(() => parseFabric(["*[Type=host]/eth0 -> A"]), /wildcard can only be the child/);
  assert.throws(() => parseFabric(["A[x] -> B"]), /expected k=v/);
  assert.throws(() => fabric.config.parse({ links: ["A -> B -> C"] }), /exactly two endpoints/);
});

test("fabric probe: static switches and a wildcard link to every host's eth0", async () => {
  const graph = new Graph("fabhost", "agent.fabhost");
  // What host and netlink would have put in the graph.
  const host = hostNodeId("fabhost");
  const eth0 = interfaceNodeId(host, "eth0", "device");
  graph.upsertNode({ ID: host, Type: "host", Name: "fabhost", Metadata: {} });
  graph.upsertNode({ ID: eth0, Type: "device", Name: "eth0", Metadata: { MTU: 1500 } });
  graph.upsertEdge({ ID: "e1", Parent: host, Child: eth0, RelationType: "ownership" });

  const probe = fabric.create(fabric.config.parse({ links: LINKS }), {
    id: "fabric",
    hostId: "fabhost",
    graph,
    log: pino({ level: "silent" }),
    metrics: createRegistry("t"),
  });
  await probe.start();
  const named = (n: string) => [...graph.nodes.values()].filter((x) => x.Name === n);
  const tor1 = named("tor1")[0]!;
  assert.equal(tor1.Type, "switch");
  assert.equal(tor1.Metadata.Probe, "fabric");
  assert.equal(named("port1").length, 2, "TOR1_PORT1 and TOR2_PORT1 are two nodes");
  const port2 = named("port2")[0]!;
  assert.equal(port2.Type, "device");
  assert.equal(port2.Metadata.MTU, 1500);
  const edges = [...graph.edges.values()];
  const red = edges.filter((e) => e.Parent === tor1.ID && e.Child === port2.ID);
  assert.deepEqual(red.map((e) => e.RelationType).sort(), ["layer2", "ownership"]);
  assert.equal(red[0]!.Metadata.color, "red");
  assert.equal(red[0]!.Metadata.Type, "fabric");
  assert.ok(
    edges.some((e) => e.Parent === port2.ID && e.Child === eth0 && e.RelationType === "layer2"),
    "wildcard link to the host's eth0",
  );

  // A host interface that appears later is linked too.
  const eth0b = interfaceNodeId("other-owner", "eth0", "device");
  graph.upsertNode({ ID: "h2", Type: "host", Name: "h2", Metadata: {} });
  graph.upsertNode({ ID: eth0b, Type: "device", Name: "eth0", Metadata: {} });
  graph.upsertEdge({ ID: "e2", Parent: "h2", Child: eth0b, RelationType: "ownership" });
  await new Promise((r) => setTimeout(r, 60));
  assert.ok([...graph.edges.values()].some((e) => e.Parent === port2.ID && e.Child === eth0b));
  await probe.stop();
});
