// The collector on real datagrams (../shared/testdata/sflow): lost datagrams from sequence gaps, volumes
// scaled by the sampling rate, counter samples on the graph's interface node, bad datagrams counted.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { createRegistry } from "@skystream/common";
import { udpPayloads } from "../../../../../test/harness/pcap.ts";
import { flowTableConfig } from "../../../flow/config.js";
import { loadFlowHasher } from "../../../flow/ids.js";
import { Graph } from "../../../graph/graph.js";
import { SflowCollector, sflowCounters } from "./collector.js";
import { decodeSflow } from "./decode.js";

await loadFlowHasher();
const DIR = fileURLToPath(new URL("../../../../../../shared/testdata/sflow/", import.meta.url));
const NOW = 1_700_000_000_000;

function collector(graph = new Graph("h", "agent.h")) {
  const invalid: string[] = [];
  const c = new SflowCollector({
    probe: "sflow",
    hostId: "h",
    table: flowTableConfig.parse({}),
    graph,
    counters: sflowCounters(createRegistry("test")),
    onInvalid: (_data, reason) => invalid.push(reason),
  });
  return { c, invalid };
}

test("lost datagrams are counted from each exporter's sequence numbers", () => {
  const datagrams = udpPayloads(DIR + "ndpi__sflow.pcap").map((u) => u.payload);
  const sequences = datagrams.map((d) => decodeSflow(d).sequence);
  const { c } = collector();
  // Drop every 5th datagram after the first: each is one lost datagram.
  let dropped = 0;
  datagrams.forEach((d, i) => {
    if (i > 0 && i % 5 === 0 && i < datagrams.length - 1) dropped++;
    else c.datagram(d, NOW);
  });
  assert.ok(dropped > 0 && new Set(sequences).size === sequences.length, "a capture with distinct sequence numbers");
  assert.equal(c.totals.lost, dropped);
});

test("flow samples are scaled by their sampling rate; every sample counts once", () => {
  const datagrams = udpPayloads(DIR + "akvorado__data-sflow-ipv4-data.pcap").map((u) => u.payload);
  let expectedPackets = 0;
  let expectedBytes = 0;
  for (const d of datagrams) {
    for (const s of decodeSflow(d).samples) {
      if (s.kind !== "flow") continue;
      const raw = s.records.find((r) => r.tag === "0:1")?.data as { frameLength: number } | undefined;
      const ip = s.records.find((r) => r.tag === "0:3" || r.tag === "0:4")?.data as { length: number } | undefined;
      if (!raw && !ip) continue;
      expectedPackets += s.samplingRate!;
      expectedBytes += s.samplingRate! * (raw ? raw.frameLength : ip!.length);
    }
  }
  const { c } = collector();
  for (const d of datagrams) c.datagram(d, NOW);
  const flows = c.flush(NOW + 1000);
  assert.ok(flows.length > 0);
  assert.equal(
    flows.reduce((n, f) => n + f.Metric.ABPackets + f.Metric.BAPackets, 0),
    expectedPackets,
  );
  assert.equal(
    flows.reduce((n, f) => n + f.Metric.ABBytes + f.Metric.BABytes, 0),
    expectedBytes,
  );
  for (const f of flows) {
    assert.ok((f.SamplingRate ?? 0) > 1, "the exporter's rate on the flow");
    assert.ok(f.Exporter?.Address, "the exporter on the flow");
    assert.equal(f.CaptureType, "sflow");
  }
});

test("counter samples land on the interface node of that ifIndex as SFlow metadata", () => {
  // Find a capture with generic interface counters and give the graph a node of that ifIndex.
  for (const file of ["akvorado__data-1140.pcap", "nxthdr__sflow.pcap", "ndpi__sflow.pcap", "akvorado__data-local-interface.pcap"]) {
    const datagrams = udpPayloads(DIR + file).map((u) => u.payload);
    let last: Record<string, number> | undefined;
    for (const d of datagrams)
      for (const s of decodeSflow(d).samples) for (const r of s.records) if (s.kind === "counters" && r.tag === "0:1") last = r.data as Record<string, number>;
    if (!last) continue;
    const ifIndex = last.ifIndex!;
    const graph = new Graph("h", "agent.h");
    graph.upsertNode({ ID: "if-1", Type: "device", Name: "eth9", Metadata: { TID: "if-1", IfIndex: ifIndex } });
    const { c } = collector(graph);
    for (const d of datagrams) c.datagram(d, NOW);
    // The last counter sample of that ifIndex is what the node shows.
    let want: Record<string, number> | undefined;
    for (const d of datagrams)
      for (const s of decodeSflow(d).samples)
        for (const r of s.records)
          if (s.kind === "counters" && r.tag === "0:1" && (r.data as Record<string, number>).ifIndex === ifIndex) want = r.data as Record<string, number>;
    const got = graph.nodes.get("if-1")!.Metadata.SFlow as Record<string, number>;
    assert.ok(got, `${file}: SFlow metadata on the node`);
    assert.equal(got.ifInOctets, want!.ifInOctets);
    assert.equal(got.ifOutOctets, want!.ifOutOctets);
    assert.equal(got.Last, NOW);
    return;
  }
  assert.fail("no capture with generic interface counters");
});

test("datagrams that are not sFlow v5 are counted by reason and handed over for dead-lettering", () => {
  const { c, invalid } = collector();
  c.datagram(Buffer.from("not sflow at all"), NOW);
  c.datagram(Buffer.alloc(3), NOW);
  const real = udpPayloads(DIR + "ndpi__sflow.pcap")[0]!.payload;
  c.datagram(real.subarray(0, real.length - 7), NOW);
  assert.equal(c.totals.invalid, 3);
  assert.deepEqual(invalid.sort(), ["sflow_bad_version", "sflow_truncated", "sflow_truncated"].sort());
});
