import { test } from "node:test";
import assert from "node:assert/strict";
import { flowDiagram, formatBitrate, formatVolume, matrixRows, OTHER_CLIENTS, serviceLabel } from "./matrix.js";
import { buildModel, searchNodes } from "../topology/model.js";
import { fromNodeGraphFrames, linkThickness, toNodeGraphFrames } from "../topology/frames.js";

const rows = matrixRows({
  protocol: ["TCP", "TCP", "UDP", "TCP"],
  serverip: ["198.18.0.2", "198.18.0.2", "::ffff:198.18.0.2", "fd00::2"],
  PORT: [8080, 8080, 53, 443],
  ServerProcName: ["nginx", "nginx", "dnsmasq", ""],
  ClientIP: ["198.18.0.1", "198.18.0.3", "198.18.0.1", "fd00::1"],
  ClientProcName: ["curl", "", "curl", "curl"],
  ClientToServerBytes: [100, 50, 10, 0],
  ServerToClientBytes: [900, 50, 20, 0],
  Flows: [3, 1, 2, 1],
});

test("flow matrix: rows from columns of any case, labels, a clients → services diagram with the rest summed", () => {
  assert.equal(rows.length, 4);
  assert.equal(rows[0]!.Port, 8080);
  assert.equal(rows[0]!.ClientToServerPackets, 0, "missing numeric columns read as 0");
  assert.equal(serviceLabel(rows[2]!), "dnsmasq @ 198.18.0.2:53/udp");
  assert.equal(serviceLabel(rows[3]!), "[fd00::2]:443/tcp");

  const d = flowDiagram(rows, "bytes");
  assert.equal(d.total, 1130);
  assert.deepEqual(
    d.nodes.map((n) => [n.side, n.label, n.value]),
    [
      ["client", "curl @ 198.18.0.1", 1030],
      ["client", "198.18.0.3", 100],
      ["service", "nginx @ 198.18.0.2:8080/tcp", 1100],
      ["service", "dnsmasq @ 198.18.0.2:53/udp", 30],
    ],
    "no zero-volume row (a sankey cannot draw it); clients first, biggest first",
  );
  assert.equal(d.links.length, 3);

  const capped = flowDiagram(rows, "flows", 1);
  const labels = capped.nodes.map((n) => n.label);
  assert.ok(labels.includes(OTHER_CLIENTS));
  assert.equal(capped.total, 7);
  assert.equal(
    capped.links.reduce((s, l) => s + l.value, 0),
    7,
    "capping keeps every volume",
  );
});

test("formatting volumes and bit rates", () => {
  assert.equal(formatVolume(58_400, "bytes"), "58.4 kB");
  assert.equal(formatVolume(12, "packets"), "12 pkts");
  assert.equal(formatVolume(1500, "flows"), "1.50k flows");
  assert.equal(formatBitrate(2_500_000), "2.50 Mb/s");
  assert.equal(formatBitrate(800), "800 b/s");
});

test("search by name, type, address or MAC; traffic on links survives Node Graph frames", () => {
  const model = buildModel({
    Nodes: [
      { ID: "a", Metadata: { Name: "eth0", Type: "veth", IPV4: ["198.18.0.1/24"], MAC: "02:00:00:00:00:01", State: "UP" } },
      { ID: "b", Metadata: { Name: "eth1", Type: "veth", IPV6: ["fd00::1/64"], State: "DOWN" } },
    ],
    Edges: [{ ID: "l", Parent: "a", Child: "b", Metadata: { RelationType: "layer2", Bps: 2_500_000 } }],
  });
  assert.deepEqual([...searchNodes(model, "198.18.0.1")], ["a"]);
  assert.deepEqual([...searchNodes(model, "02:00:00")], ["a"]);
  assert.deepEqual([...searchNodes(model, "VETH")].sort(), ["a", "b"]);
  assert.deepEqual([...searchNodes(model, "fd00::")], ["b"]);
  assert.equal(searchNodes(model, "  ").size, 0);
  assert.equal(model.links[0]!.bps, 2_500_000);

  const { nodes, edges } = toNodeGraphFrames(model);
  assert.deepEqual(edges.secondarystat, ["2.50 Mb/s"]);
  assert.ok((edges.thickness![0] as number) > 4);
  const back = buildModel(fromNodeGraphFrames(nodes, edges));
  assert.equal(back.links[0]!.bps, 2_500_000);
  assert.deepEqual(back.nodes.get("a")!.metadata.IPV4, ["198.18.0.1/24"]);
  assert.equal(back.nodes.get("a")!.metadata.MAC, "02:00:00:00:00:01");
  assert.equal(back.nodes.get("b")!.state, "down");
  assert.equal(linkThickness(undefined), 1);
  assert.equal(linkThickness(1e12), 8);
});
