// The capture manager without a broker: orders applied directly, a real sFlow collector started for an
// `sflow` capture on a node of the graph, real datagrams sent to it, the capture's flows and the node's
// Captures metadata checked; then the TTL ends it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { createRegistry } from "@skystream/common";
import type { Capture, FlowRecord } from "@skystream/schemas";
import { udpPayloads } from "../../../test/harness/pcap.ts";
import { flowTableConfig } from "../flow/config.js";
import { Graph } from "../graph/graph.js";
import { CaptureManager } from "./manager.js";

const SFLOW = fileURLToPath(new URL("../../../../shared/testdata/sflow/akvorado__data-sflow-ipv4-data.pcap", import.meta.url));

function capture(over: Partial<Capture>): Capture {
  return { UUID: "c-1", GremlinQuery: "G.V()", CreatedAt: Date.now(), TTL: 0, ...over };
}

test("an sflow capture on a matching node: a collector, flows stamped with the capture, Captures on the node, ended by its TTL", async (t) => {
  const graph = new Graph("h", "agent.h");
  graph.upsertNode({ ID: "n-eth", Type: "device", Name: "eth7", Metadata: { TID: "tid-eth", IfIndex: 7 } });
  graph.upsertNode({ ID: "n-lo", Type: "loopback", Name: "lo", Metadata: { TID: "tid-lo", IfIndex: 1 } });
  const flows: FlowRecord[] = [];
  const m = new CaptureManager({
    hostId: "h",
    graph,
    log: pino({ level: "silent" }),
    metrics: createRegistry("test"),
    table: flowTableConfig.parse({ update: "200ms" }),
    settings: { sflow_address: "127.0.0.1", ovsdb: "unix:/nonexistent" },
  });
  m.start(async (f) => void flows.push(...f));
  t.after(() => m.stop());

  m.apply({
    Op: "CAPTURE_SET",
    Time: Date.now(),
    Capture: capture({ UUID: "cap-sflow", GremlinQuery: "G.V().Has('Name', 'eth7')", Type: "sflow", TTL: 4000, Name: "edge" }),
  });
  // A capture type the node cannot take is not started there: pcap on an OVS bridge would be; none here.
  m.apply({ Op: "CAPTURE_SET", Time: Date.now(), Capture: capture({ UUID: "cap-none", GremlinQuery: "G.V().Has('Type', 'ovsbridge')" }) });
  await m.settled();
  const captures = graph.nodes.get("n-eth")!.Metadata.Captures as { ID: string; State: string; Type: string; Name: string; SFlowSocket: string }[];
  assert.equal(captures.length, 1);
  assert.deepEqual([captures[0]!.ID, captures[0]!.State, captures[0]!.Type, captures[0]!.Name], ["cap-sflow", "active", "sflow", "edge"]);
  assert.equal(graph.nodes.get("n-lo")!.Metadata.Captures, undefined, "not on a node the selection leaves out");

  const port = Number(captures[0]!.SFlowSocket.split(":")[1]);
  const sender = createSocket("udp4");
  for (const u of udpPayloads(SFLOW)) await new Promise<void>((res, rej) => sender.send(u.payload, port, "127.0.0.1", (e) => (e ? rej(e) : res())));
  sender.close();
  for (let i = 0; i < 100 && flows.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(flows.length > 0, "flows from the capture's collector");
  for (const f of flows) assert.deepEqual([f.CaptureID, f.NodeTID, f.CaptureType], ["cap-sflow", "tid-eth", "sflow"]);

  // The TTL (4 s after creation) ends it: the collector stops, the node loses its Captures.
  for (let i = 0; i < 120 && graph.nodes.get("n-eth")!.Metadata.Captures !== undefined; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(graph.nodes.get("n-eth")!.Metadata.Captures, undefined);
  assert.deepEqual(
    m.active.map((a) => [a.capture.UUID, a.nodes.length]),
    [
      ["cap-sflow", 0],
      ["cap-none", 0],
    ],
  );

  // A selection outside the supported subset is refused, and runs nowhere.
  m.apply({ Op: "CAPTURE_SET", Time: Date.now(), Capture: capture({ UUID: "cap-bad", GremlinQuery: "G.V().Out()" }) });
  m.apply({ Op: "CAPTURE_DELETE", Time: Date.now(), Capture: capture({ UUID: "cap-none" }) });
  await m.settled();
  assert.deepEqual(
    m.active.map((a) => a.capture.UUID),
    ["cap-sflow", "cap-bad"],
  );
  assert.ok(m.active.every((a) => a.nodes.length === 0));
});
