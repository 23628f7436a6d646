import { test } from "node:test";
import assert from "node:assert/strict";
import type { FlowRecord } from "@skystream/schemas";
import { flowTableConfig } from "./config.js";
import { loadFlowHasher } from "./ids.js";
import { readCaptureFile } from "./pcapfile.js";
import { FlowTable } from "./table.js";
import { frame, type FrameSpec } from "./testing/frames.js";
import { seededRandom } from "./testing/random.js";

await loadFlowHasher();

const SKYDIVE_PCAP = new URL("../../../../shared/testdata/pcap/eth-ip4-arp-dns-req-http-google.pcap", import.meta.url).pathname;
const point = { host: "h1", nodeTID: "tid-1", captureID: "", captureType: "pcapfile" };

function table(over: Record<string, unknown> = {}, nodeTID = "tid-1"): FlowTable {
  return new FlowTable(flowTableConfig.parse(over), { ...point, nodeTID });
}

/** Feeds frames (spec, time in ms) and returns every flow at the end. */
function run(t: FlowTable, packets: [FrameSpec, number][], end?: number): FlowRecord[] {
  for (const [spec, time] of packets) {
    const data = frame(spec);
    t.bytes(1, data, time, data.length);
    t.advance(time);
  }
  t.flush(end ?? packets.at(-1)![1]);
  return t.drain();
}

const T0 = 1_700_000_000_000;
const A = { srcMac: "02:00:00:00:00:0a", dstMac: "02:00:00:00:00:0b", src: "198.18.0.1", dst: "198.18.0.2" };
const B = { srcMac: A.dstMac, dstMac: A.srcMac, src: A.dst, dst: A.src };

test("Skydive's eth-ip4-arp-dns-req-http-google.pcap gives the flows Skydive's TestPCAP1 expects", () => {
  const t = table();
  let last = 0;
  readCaptureFile(SKYDIVE_PCAP, (p) => {
    t.bytes(p.linkType, p.data, p.time, p.length);
    last = p.time;
  });
  t.flush(last);
  const flows = t.drain();
  const expected = [
    ["Ethernet/ARP", "ARP", "fa:16:3e:29:e0:82", "ff:ff:ff:ff:ff:ff", "", "", 0, 0, 1, 42, 0, 0],
    ["Ethernet/ARP", "ARP", "fa:16:3e:96:06:e8", "fa:16:3e:29:e0:82", "", "", 0, 0, 1, 42, 0, 0],
    ["Ethernet/IPv4/UDP/DNS", "DNS", "fa:16:3e:29:e0:82", "fa:16:3e:96:06:e8", "192.168.0.5", "8.8.8.8", 37686, 53, 2, 148, 2, 256],
    ["Ethernet/IPv4/TCP", "TCP", "fa:16:3e:29:e0:82", "fa:16:3e:96:06:e8", "192.168.0.5", "173.194.40.147", 47838, 80, 6, 516, 4, 760],
    ["Ethernet/IPv4/UDP/DNS", "DNS", "fa:16:3e:29:e0:82", "fa:16:3e:96:06:e8", "192.168.0.5", "8.8.8.8", 33553, 53, 2, 146, 2, 190],
    ["Ethernet/IPv4/TCP", "TCP", "fa:16:3e:29:e0:82", "fa:16:3e:96:06:e8", "192.168.0.5", "216.58.211.67", 54785, 80, 20, 1475, 18, 21080],
  ];
  const got = flows.map((f) => [
    f.LayersPath,
    f.Application,
    f.Link?.A,
    f.Link?.B,
    f.Network?.A ?? "",
    f.Network?.B ?? "",
    f.Transport?.A ?? 0,
    f.Transport?.B ?? 0,
    f.Metric.ABPackets,
    f.Metric.ABBytes,
    f.Metric.BAPackets,
    f.Metric.BABytes,
  ]);
  assert.deepEqual(
    got.sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y))),
    expected.sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y))),
  );
  assert.equal(flows.filter((f) => f.Application === "DNS").length, 2);
  for (const f of flows) {
    assert.ok(f.Start > 1.4e12 && f.Last >= f.Start, "timestamps from the file");
    assert.match(f.UUID, /^[0-9a-f]{16}$/);
    assert.match(f.TrackingID, /^[0-9a-f]{16}$/);
  }
  // Both HTTP connections saw their handshake and FIN.
  for (const f of flows.filter((x) => x.Application === "TCP")) {
    assert.ok((f.Metric.RTT ?? 0) > 0, "RTT from SYN to SYN-ACK");
    assert.equal(f.FinishType, "TCP_FIN");
  }
});

test("TCP: A/B from the first packet, per-direction counts, RTT from SYN to SYN-ACK, FIN kept for finished_hold then emitted", () => {
  const t = table({ extra_tcp_metric: true });
  const tcp = (s: typeof A, sp: number, dp: number, flags: number, payload = 0): FrameSpec => ({
    ...s,
    proto: "tcp",
    srcPort: sp,
    dstPort: dp,
    flags,
    payload,
  });
  const flows = run(
    t,
    [
      [tcp(A, 40001, 80, 0x02), T0],
      [tcp(B, 80, 40001, 0x12), T0 + 1.5],
      [tcp(A, 40001, 80, 0x10), T0 + 2],
      [tcp(A, 40001, 80, 0x18, 100), T0 + 3],
      [tcp(B, 80, 40001, 0x18, 1000), T0 + 4],
      [tcp(A, 40001, 80, 0x11), T0 + 5],
    ],
    T0 + 6,
  );
  assert.equal(flows.length, 1);
  const f = flows[0]!;
  assert.deepEqual([f.Network?.A, f.Network?.B, f.Transport?.A, f.Transport?.B], ["198.18.0.1", "198.18.0.2", 40001, 80]);
  assert.deepEqual([f.Metric.ABPackets, f.Metric.BAPackets], [4, 2]);
  assert.deepEqual([f.Metric.ABBytes, f.Metric.BABytes], [54 * 3 + 154, 54 + 1054]);
  assert.equal(f.Metric.RTT, 1_500_000);
  assert.equal(f.FinishType, "TCP_FIN");
  assert.equal(f.TCPMetric?.ABSynStart, T0);
  assert.equal(f.TCPMetric?.BASynStart, T0 + 1);
  assert.equal(f.TCPMetric?.ABSynTTL, 64);
  assert.equal(f.TCPMetric?.ABFinStart, T0 + 5);

  // Held 15 s after FIN (late packets still count), then emitted once more and forgotten.
  const held = table();
  for (const [s, at] of [
    [tcp(A, 40002, 80, 0x02), T0],
    [tcp(B, 80, 40002, 0x14), T0 + 1],
  ] as const) {
    const d = frame(s);
    held.bytes(1, d, at, d.length);
    held.advance(at);
  }
  held.advance(T0 + 10_000);
  assert.equal(held.size, 1);
  assert.equal(held.drain().length, 0);
  held.advance(T0 + 16_100);
  assert.equal(held.size, 0);
  const [rst] = held.drain();
  assert.equal(rst?.FinishType, "TCP_RST");
  assert.equal(rst?.Metric.RTT, 1_000_000, "RST answers the SYN too");
});

test("ICMP echo and ICMPv6 echo: one flow per id, RTT from request to reply", () => {
  const flows = run(table(), [
    [{ ...A, proto: "icmp", icmpType: 8, icmpId: 7 }, T0],
    [{ ...B, proto: "icmp", icmpType: 0, icmpId: 7 }, T0 + 0.25],
    [{ ...A, proto: "icmp", icmpType: 8, icmpId: 9 }, T0 + 1],
    [{ ...A, src: "fd00::1", dst: "fd00::2", proto: "icmp", icmpType: 128, icmpId: 3 }, T0 + 2],
    [{ ...B, src: "fd00::2", dst: "fd00::1", proto: "icmp", icmpType: 129, icmpId: 3 }, T0 + 2.5],
  ]);
  assert.equal(flows.length, 3);
  const v4 = flows.find((f) => f.ICMP?.ID === 7)!;
  assert.deepEqual(
    [v4.LayersPath, v4.Application, v4.ICMP?.Type, v4.Metric.ABPackets, v4.Metric.BAPackets, v4.Metric.RTT],
    ["Ethernet/IPv4/ICMPv4", "ICMPv4", "ECHO", 1, 1, 250_000],
  );
  const v6 = flows.find((f) => f.Network?.Protocol === "IPV6")!;
  assert.deepEqual([v6.Network?.A, v6.LayersPath, v6.Metric.RTT, v6.Metric.BAPackets], ["fd00::1", "Ethernet/IPv6/ICMPv6", 500_000, 1]);
  assert.equal(flows.find((f) => f.ICMP?.ID === 9)!.Metric.RTT, 0, "no reply, no RTT");
});

test("L2 key mode separates flows by MAC, L3 mode does not; TrackingID is equal across capture points, UUID is not", () => {
  const viaRouter = { ...A, srcMac: "02:00:00:00:00:99" };
  const packets: [FrameSpec, number][] = [
    [{ ...A, proto: "udp", srcPort: 5000, dstPort: 6000 }, T0],
    [{ ...viaRouter, proto: "udp", srcPort: 5000, dstPort: 6000 }, T0 + 1],
  ];
  const l2 = run(table(), packets);
  assert.equal(l2.length, 2);
  assert.notEqual(l2[0]!.TrackingID, l2[1]!.TrackingID);
  assert.equal(l2[0]!.L3TrackingID, l2[1]!.L3TrackingID);
  const l3 = run(table({ layer_key_mode: "L3" }), packets);
  assert.equal(l3.length, 1);
  assert.equal(l3[0]!.Metric.ABPackets, 2);
  assert.equal(l3[0]!.TrackingID, l3[0]!.L3TrackingID);

  const elsewhere = run(table({}, "tid-2"), packets.slice(0, 1));
  assert.equal(elsewhere[0]!.TrackingID, l2[0]!.TrackingID);
  assert.notEqual(elsewhere[0]!.UUID, l2[0]!.UUID);
  // A later occurrence of the same conversation is a new flow: same TrackingID, new UUID.
  const t = table({ expire: "1s" });
  const again = run(t, [
    [packets[0]![0], T0],
    [packets[0]![0], T0 + 5000],
  ]);
  assert.equal(again.length, 2);
  assert.equal(again[0]!.FinishType, "TIMEOUT");
  assert.equal(again[0]!.TrackingID, again[1]!.TrackingID);
  assert.notEqual(again[0]!.UUID, again[1]!.UUID);
});

test("VXLAN: outer and inner flows chained by ParentUUID; the outer key ignores the UDP source port; VLANs stack in Link.ID", () => {
  const outer = { srcMac: "02:00:00:00:01:01", dstMac: "02:00:00:00:01:02", src: "198.18.1.1", dst: "198.18.1.2" };
  const outerBack = { srcMac: outer.dstMac, dstMac: outer.srcMac, src: outer.dst, dst: outer.src };
  const flows = run(table(), [
    [{ ...A, proto: "icmp", icmpType: 8, vxlan: { vni: 42, outer: { ...outer, srcPort: 50001 } } }, T0],
    [{ ...B, proto: "icmp", icmpType: 0, vxlan: { vni: 42, outer: { ...outerBack, srcPort: 50002 } } }, T0 + 1],
    [{ ...A, vlans: [100, 200], proto: "udp" }, T0 + 2],
  ]);
  assert.equal(flows.length, 3, JSON.stringify(flows.map((f) => [f.LayersPath, f.Network, f.Transport, f.Metric])));
  const o = flows.find((f) => f.LayersPath === "Ethernet/IPv4/UDP/VXLAN")!;
  const i = flows.find((f) => f.ParentUUID !== "")!;
  assert.ok(o && i, JSON.stringify(flows.map((f) => f.LayersPath)));
  assert.equal(i.ParentUUID, o.UUID);
  assert.equal(o.Network?.ID, 42);
  assert.equal(o.Application, "VXLAN");
  assert.deepEqual([o.Metric.ABPackets, o.Metric.BAPackets], [1, 1]);
  assert.deepEqual([i.LayersPath, i.Network?.A, i.Metric.ABPackets, i.Metric.BAPackets, i.Metric.RTT], ["Ethernet/IPv4/ICMPv4", "198.18.0.1", 1, 1, 1_000_000]);
  assert.equal(i.Metric.ABBytes, 14 + 20 + 8, "inner bytes: the inner frame");
  const tagged = flows.find((f) => f.LayersPath.startsWith("Ethernet/Dot1Q"))!;
  assert.equal(tagged.Link?.ID, 100 * 4096 + 200);
});

test("updates: flows that saw packets are emitted each period with that period's delta; idle ones are not; expiry ends them", () => {
  const t = table({ update: "10s", expire: "30s" });
  const udp = (sp: number): FrameSpec => ({ ...A, proto: "udp", srcPort: sp, dstPort: 9000, payload: 100 });
  const feed = (spec: FrameSpec, at: number) => {
    const d = frame(spec);
    t.bytes(1, d, at, d.length);
    t.advance(at);
  };
  feed(udp(1), T0);
  feed(udp(2), T0 + 1000);
  feed(udp(1), T0 + 2000);
  t.advance(T0 + 10_000);
  const first = t.drain();
  assert.equal(first.length, 2);
  const one = first.find((f) => f.Transport?.A === 1)!;
  assert.deepEqual([one.Metric.ABPackets, one.LastUpdateMetric?.ABPackets], [2, 2]);
  feed(udp(1), T0 + 12_000);
  t.advance(T0 + 20_000);
  const second = t.drain();
  assert.equal(second.length, 1, "only the flow that saw packets in the period");
  assert.deepEqual([second[0]!.Metric.ABPackets, second[0]!.LastUpdateMetric?.ABPackets, second[0]!.LastUpdateMetric?.ABBytes], [3, 1, 142]);
  assert.equal(second[0]!.LastUpdateMetric?.Start, T0 + 10_000);
  assert.equal(second[0]!.LastUpdateMetric?.Last, T0 + 20_000);
  t.advance(T0 + 31_000);
  t.advance(T0 + 45_000);
  const ended = t.drain();
  assert.deepEqual(ended.map((f) => [f.Transport?.A, f.FinishType, f.LastUpdateMetric?.ABPackets]).sort(), [
    [1, "TIMEOUT", 0],
    [2, "TIMEOUT", 0],
  ]);
  assert.equal(t.size, 0);
});

test("application timeouts end DNS early; the port map names applications", () => {
  const t = table({ application_ports: { tcp: { "443": "https" } } });
  const d = frame({ ...A, proto: "udp", srcPort: 33000, dstPort: 53, payload: 30 });
  t.bytes(1, d, T0, d.length);
  t.advance(T0);
  const h = frame({ ...A, proto: "tcp", srcPort: 33001, dstPort: 443 });
  t.bytes(1, h, T0, h.length);
  t.advance(T0 + 11_000);
  const [dns] = t.drain();
  assert.deepEqual([dns?.Application, dns?.FinishType], ["DNS", "TIMEOUT"]);
  t.flush(T0 + 12_000);
  const [https] = t.drain();
  assert.deepEqual([https?.Application, https?.LayersPath], ["HTTPS", "Ethernet/IPv4/TCP"]);
});

test("LRU: beyond max_entries the least recently seen flow is emitted and evicted", () => {
  const t = table({ max_entries: 3 });
  const udp = (sp: number): FrameSpec => ({ ...A, proto: "udp", srcPort: sp, dstPort: 9000 });
  const feed = (sp: number, at: number) => {
    const d = frame(udp(sp));
    t.bytes(1, d, at, d.length);
  };
  feed(1, T0);
  feed(2, T0 + 1);
  feed(3, T0 + 2);
  feed(1, T0 + 3); // 1 is recent again: 2 is the least recently seen
  feed(4, T0 + 4);
  assert.equal(t.size, 3);
  const [evicted] = t.drain();
  assert.equal(evicted?.Transport?.A, 2);
  assert.equal(t.stats.flowsEvicted, 1);
  feed(5, T0 + 5);
  assert.equal(t.drain()[0]?.Transport?.A, 3);
});

test("garbage and mutated frames never throw; every packet is counted once", () => {
  const frames: Buffer[] = [];
  readCaptureFile(SKYDIVE_PCAP, (p) => frames.push(Buffer.from(p.data)));
  frames.push(frame({ ...A, proto: "icmp", vxlan: { vni: 7, outer: { srcMac: A.srcMac, dstMac: A.dstMac, src: "fd00::1", dst: "fd00::2" } } }));
  const rand = seededRandom(42);
  const t = table({ max_entries: 500 });
  const N = process.env.SKYSTREAM_LONG_TESTS === "1" ? 1_000_000 : 50_000;
  for (let i = 0; i < N; i++) {
    let data: Buffer;
    if (i % 3 === 0) data = Buffer.from(Array.from({ length: Math.floor(rand() * 120) }, () => Math.floor(rand() * 256)));
    else {
      data = Buffer.from(frames[i % frames.length]!);
      for (let m = 0; m < 1 + Math.floor(rand() * 4); m++) data[Math.floor(rand() * data.length)] = Math.floor(rand() * 256);
      if (rand() < 0.3) data = data.subarray(0, Math.floor(rand() * data.length));
    }
    for (const linkType of [1, 101, 113]) t.bytes(linkType, data, T0 + i, data.length);
  }
  t.flush(T0 + N);
  const flows = t.drain();
  assert.equal(t.size, 0);
  // Every frame counts once in its outermost flow: outer flows (no ParentUUID), as last emitted, sum to what was fed.
  const outer = [...new Map(flows.filter((f) => !f.ParentUUID).map((f) => [f.UUID, f])).values()];
  assert.equal(
    outer.reduce((n, f) => n + f.Metric.ABPackets + f.Metric.BAPackets, 0),
    t.stats.packets,
  );
  assert.equal(t.stats.packets, N * 3);
});

test("a flow keeps its UUID through its updates, even when the capture point's NodeTID is learnt later", () => {
  const t = new FlowTable(flowTableConfig.parse({ update: "1s" }), { ...point, nodeTID: "" });
  const d = frame({ ...A, proto: "udp", srcPort: 7000, dstPort: 7001 });
  t.bytes(1, d, T0, d.length);
  t.advance(T0 + 1000);
  t.point.nodeTID = "tid-learnt";
  t.bytes(1, d, T0 + 1500, d.length);
  t.advance(T0 + 2000);
  const [first, second] = t.drain();
  assert.equal(first?.UUID, second?.UUID);
  assert.deepEqual([first?.NodeTID, second?.NodeTID], ["", "tid-learnt"]);
});
