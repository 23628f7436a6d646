// The enricher over a hand-built topology history: lookups as of the flow's time (a socket reused by
// another process later does not rewrite the past), namespace-aware addresses (the same IP in two
// namespaces), routed peers (the MAC of a router, the IP of the end), server side from listeners.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { FlowRecord } from "@skystream/schemas";
import { syntheticFlow } from "@skystream/schemas/testing/flows";
import type { TopologyRevision } from "../storage/clickhouse/index.js";
import { Enricher } from "./enricher.js";
import { TopologyIndex } from "./topology-index.js";

const node = (id: string, type: string, name: string, at: number, md: Record<string, unknown> = {}, host = "h1"): TopologyRevision => ({
  Kind: "node",
  ID: id,
  Origin: `agent.${host}`,
  Host: host,
  Type: type,
  Name: name,
  Parent: "",
  Child: "",
  RelationType: "",
  Metadata: JSON.stringify({ ...md, Type: type, Name: name }),
  CreatedAt: at,
  UpdatedAt: at,
  DeletedAt: null,
  Revision: 1,
  ValidFrom: at,
});
const owns = (parent: string, child: string, at: number): TopologyRevision => ({
  ...node(`${parent}>${child}`, "", "", at),
  Kind: "edge",
  Type: "",
  Name: "",
  Parent: parent,
  Child: child,
  RelationType: "ownership",
  Metadata: "{}",
});
const sock = (la: string, lp: number, ra: string, rp: number, state: string, pid: number, name: string) => ({
  Protocol: "TCP",
  LocalAddress: la,
  LocalPort: lp,
  RemoteAddress: ra,
  RemotePort: rp,
  State: state,
  Pid: pid,
  Name: name,
  Process: `/usr/bin/${name}`,
  Cmdline: name,
});

function flow(a: string, pa: string, macA: string, b: string, pb: string, macB: string, start: number, last: number, portA = 40000, portB = 80): FlowRecord {
  const f = syntheticFlow(1, last);
  return {
    ...f,
    NodeTID: pa,
    Link: { Protocol: "ETHERNET", A: macA, B: macB, ID: 0 },
    Network: { Protocol: "IPV4", A: a, B: b, ID: 0 },
    Transport: { Protocol: "TCP", A: portA, B: portB, ID: 0 },
    Start: start,
    Last: last,
    LastUpdateMetric: null,
    TCPMetric: null,
    Enrichment: null,
  } as FlowRecord;
}

test("enrichment as of the flow's time, namespace-aware, routed peers and listeners", () => {
  const idx = new TopologyIndex(3_600_000);
  const T = 1_000_000;
  for (const r of [
    node("host", "host", "h1", T),
    node("ns-red", "netns", "red", T),
    node("ns-blue", "netns", "blue", T),
    node("ns-green", "netns", "green", T),
    // The same address in red and in green (two isolated networks), 198.18.1.2 in blue.
    node("if-red", "veth", "eth0", T, { TID: "if-red", MAC: "02:00:00:00:00:01", IPV4: ["198.18.1.1/24"] }),
    node("if-green", "veth", "eth0", T, { TID: "if-green", MAC: "02:00:00:00:00:03", IPV4: ["198.18.1.1/24"] }),
    node("if-blue", "veth", "eth1", T, { TID: "if-blue", MAC: "02:00:00:00:00:02", IPV4: ["198.18.1.2/24", "198.18.9.9/32"] }),
    owns("host", "ns-red", T),
    owns("host", "ns-blue", T),
    owns("host", "ns-green", T),
    owns("ns-red", "if-red", T),
    owns("ns-green", "if-green", T),
    owns("ns-blue", "if-blue", T),
    node("ns-blue", "netns", "blue", T + 1000, { Sockets: [sock("198.18.1.2", 80, "0.0.0.0", 0, "LISTEN", 50, "nginx")] }),
    node("ns-red", "netns", "red", T + 1000, { Sockets: [sock("198.18.1.1", 40000, "198.18.1.2", 80, "ESTABLISHED", 10, "curl")] }),
    // Later, another process reuses the same local port for the same peer.
    node("ns-red", "netns", "red", T + 60_000, { Sockets: [sock("198.18.1.1", 40000, "198.18.1.2", 80, "ESTABLISHED", 20, "wget")] }),
  ])
    idx.apply(r);
  const enricher = new Enricher(idx, { slackMs: 500 });

  const early = enricher.enrich(flow("198.18.1.1", "if-red", "02:00:00:00:00:01", "198.18.1.2", "if-red", "02:00:00:00:00:02", T + 2000, T + 5000));
  assert.equal(early.CaptureNode?.ID, "if-red");
  assert.equal(early.A?.Node?.ID, "if-red", "the MAC picks red's interface, not green's with the same IP");
  assert.equal(early.A?.Netns, "red");
  assert.equal(early.B?.Node?.ID, "if-blue");
  assert.equal(early.Server, "B");
  assert.deepEqual([early.A?.Process?.Pid, early.A?.Process?.Name], [10, "curl"], "the process of the flow's time");
  assert.deepEqual([early.B?.Process?.Pid, early.B?.Process?.Process], [50, "/usr/bin/nginx"], "the listener serves it");

  const late = enricher.enrich(flow("198.18.1.1", "if-red", "02:00:00:00:00:01", "198.18.1.2", "if-red", "02:00:00:00:00:02", T + 61_000, T + 62_000));
  assert.deepEqual([late.A?.Process?.Pid, late.A?.Process?.Name], [20, "wget"]);
  assert.deepEqual([early.A?.Process?.Pid], [10], "the earlier flow keeps its process");

  // Captured in green: the same 198.18.1.1 with green's MAC is green's interface.
  const green = enricher.enrich(flow("198.18.1.1", "if-green", "02:00:00:00:00:03", "198.18.1.2", "if-green", "02:00:00:00:00:02", T + 2000, T + 3000));
  assert.equal(green.A?.Node?.ID, "if-green");
  assert.equal(green.A?.Netns, "green");
  assert.equal(green.A?.Process, null, "no socket of green has that tuple");

  // Without MACs (sampled IP headers), the IP alone picks the capture's namespace among equals.
  const noMac = enricher.enrich(flow("198.18.1.1", "if-green", "", "198.18.1.2", "if-green", "", T + 2000, T + 3000));
  assert.equal(noMac.A?.Node?.ID, "if-green");

  // A routed peer: B's MAC is a router's (green's interface here), B's IP is elsewhere; found by IP.
  const routed = enricher.enrich(flow("198.18.1.1", "if-red", "02:00:00:00:00:01", "198.18.9.9", "if-red", "02:00:00:00:00:03", T + 2000, T + 3000));
  assert.equal(routed.B?.Node?.ID, "if-blue", "the MAC's owner does not hold 198.18.9.9; the IP's owner does");

  // Before the interfaces existed: nothing is made up.
  const before = enricher.enrich(flow("198.18.1.1", "if-red", "02:00:00:00:00:01", "198.18.1.2", "if-red", "02:00:00:00:00:02", T - 10_000, T - 5000));
  assert.equal(before.CaptureNode, null);
  assert.equal(before.A, null);
  assert.equal(before.Server, "B", "port 80 still says which end serves");
});
