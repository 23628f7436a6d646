// Live capture on real veths in namespaces: known traffic (python sockets, tcpreplay of a pcap we build)
// against the flows the capture probe produces, with tcpdump on the same interface as the oracle.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { createRegistry } from "@skystream/common";
import type { FlowRecord } from "@skystream/schemas";
import { NetnsLab, ip } from "../../../../../test/harness/netns-lab.ts";
import { waitFor } from "../../../../../test/harness/skystream-process.ts";
import { flowTableConfig } from "../../../flow/config.js";
import { loadFlowHasher } from "../../../flow/ids.js";
import { readCaptureFile } from "../../../flow/pcapfile.js";
import { FlowTable } from "../../../flow/table.js";
import { frame, writePcap, type FrameSpec } from "../../../flow/testing/frames.js";
import { Graph } from "../../../graph/graph.js";
import { captureConfig } from "./config.js";
import { CaptureProbe } from "./probe.js";

await loadFlowHasher();

function startCapture(ns: string, iface: string, over: Record<string, unknown> = {}) {
  const flows: FlowRecord[] = [];
  const probe = new CaptureProbe(
    captureConfig.parse({ interface: iface, netns: ns, flush_interval: 100, node_tid: `tid-${iface}`, ...over }),
    {
      id: `pcap/${iface}`,
      hostId: "lab",
      log: pino({ level: "warn" }),
      metrics: createRegistry("test"),
      graph: new Graph("lab", "agent.lab"),
      table: flowTableConfig.parse({ update: "500ms" }),
    },
    "pcap",
  );
  return { probe, flows, start: () => probe.start(async (f) => void flows.push(...f)) };
}

/** The latest record of each flow UUID. */
const latest = (flows: FlowRecord[]) => [...new Map(flows.map((f) => [f.UUID, f])).values()];

/** tcpdump on an interface until stopped; resolves to its pcap file. */
function tcpdump(ns: string, iface: string, file: string, filter: string) {
  const p = spawn("ip", ["netns", "exec", ns, "tcpdump", "--immediate-mode", "-U", "-n", "-i", iface, "-w", file, filter], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  p.stderr.on("data", (d: Buffer) => (err += d.toString()));
  return {
    ready: () => waitFor("tcpdump listening", async () => err.includes("listening on") || undefined, 10_000),
    stop: () => new Promise<void>((r) => (p.once("exit", () => r()), p.kill("SIGINT"))),
  };
}

test("live capture in a namespace: a TCP and a UDP exchange of known size give the flows tcpdump saw", { timeout: 60_000 }, async (t) => {
  const lab = new NetnsLab();
  const dir = mkdtempSync(join(tmpdir(), "skystream-cap-"));
  t.after(() => (lab.destroy(), rmSync(dir, { recursive: true, force: true })));
  const [a, b] = [lab.ns("a"), lab.ns("b")];
  const [va, vb] = lab.veth("va", a, "vb", b);
  ip("-n", a, "addr", "add", "198.18.20.1/24", "dev", va);
  ip("-n", b, "addr", "add", "198.18.20.2/24", "dev", vb);

  const cap = startCapture(a, va, { filter: "tcp port 7100 or udp port 7200" });
  await cap.start();
  t.after(() => cap.probe.stop());
  const oracle = tcpdump(a, va, join(dir, "oracle.pcap"), "tcp port 7100 or udp port 7200");
  await oracle.ready();

  // TCP: 20,000 bytes up, 7,000 down, then close. UDP: 5 datagrams of 300 bytes, 2 answers of 100.
  const server = spawn("ip", [
    "netns",
    "exec",
    b,
    "python3",
    "-c",
    `
import socket
u=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); u.bind(('198.18.20.2',7200))
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1); s.bind(('198.18.20.2',7100)); s.listen(); print('up',flush=True)
c,_=s.accept(); got=0
while got<20000:
  got+=len(c.recv(65536))
c.sendall(b'd'*7000); c.shutdown(socket.SHUT_WR); c.recv(1); c.close()
for i in range(5):
  d,peer=u.recvfrom(2000)
  if i<2: u.sendto(b'r'*100,peer)
`,
  ]);
  t.after(() => server.kill());
  await new Promise<void>((r) => server.stdout.once("data", () => r()));
  execFileSync("ip", [
    "netns",
    "exec",
    a,
    "python3",
    "-c",
    `
import socket,time
s=socket.create_connection(('198.18.20.2',7100)); s.sendall(b'u'*20000); got=0
while True:
  x=s.recv(65536)
  if not x: break
  got+=len(x)
s.close(); assert got==7000
u=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); u.bind(('198.18.20.1',7201))
for i in range(5):
  u.sendto(b'q'*300,('198.18.20.2',7200)); time.sleep(0.02)
`,
  ]);
  await waitFor(
    "UDP flow",
    async () => latest(cap.flows).some((f) => f.Transport?.Protocol === "UDP" && f.Metric.ABPackets === 5 && f.Metric.BAPackets === 2) || undefined,
    10_000,
  );
  await waitFor("TCP flow finished", async () => latest(cap.flows).some((f) => f.FinishType === "TCP_FIN") || undefined, 10_000);
  await new Promise((r) => setTimeout(r, 300));
  await oracle.stop();

  // The oracle: tcpdump's file of the same interface, through the same flow table code.
  const reference = new FlowTable(flowTableConfig.parse({}), { host: "lab", nodeTID: "", captureID: "", captureType: "pcapfile" });
  let last = 0;
  readCaptureFile(join(dir, "oracle.pcap"), (p) => {
    reference.bytes(p.linkType, p.data, p.time, p.length);
    last = p.time;
  });
  reference.flush(last);
  const expected = reference.drain();
  const got = latest(cap.flows);
  const summary = (fs: FlowRecord[]) =>
    fs
      .map(
        (f) =>
          `${f.Transport?.Protocol} ${f.Network?.A}:${f.Transport?.A}->${f.Network?.B}:${f.Transport?.B} ${f.Metric.ABPackets}/${f.Metric.ABBytes} ${f.Metric.BAPackets}/${f.Metric.BABytes}`,
      )
      .sort();
  assert.deepEqual(summary(got), summary(expected));
  assert.equal(got.length, 2);

  const udp = got.find((f) => f.Transport?.Protocol === "UDP")!;
  assert.deepEqual([udp.Network?.A, udp.Transport?.A, udp.Transport?.B], ["198.18.20.1", 7201, 7200]);
  assert.deepEqual([udp.Metric.ABPackets, udp.Metric.ABBytes, udp.Metric.BAPackets, udp.Metric.BABytes], [5, 5 * (300 + 42), 2, 2 * (100 + 42)]);
  const tcp = got.find((f) => f.Transport?.Protocol === "TCP")!;
  assert.equal(tcp.Transport?.B, 7100);
  assert.ok(tcp.Metric.ABBytes > 20_000 && tcp.Metric.BABytes > 7000, "payload plus headers each way");
  assert.ok((tcp.Metric.RTT ?? 0) > 0, "RTT from the handshake");
  assert.equal(tcp.CaptureType, "pcap");
});

test("tcpreplay of known traffic onto a veth: exact counts per direction, RTT, ids stable across capture points", { timeout: 60_000 }, async (t) => {
  const lab = new NetnsLab();
  const dir = mkdtempSync(join(tmpdir(), "skystream-replay-"));
  t.after(() => (lab.destroy(), rmSync(dir, { recursive: true, force: true })));
  const [a, b] = [lab.ns("a"), lab.ns("b")];
  const [va, vb] = lab.veth("va", a, "vb", b);

  // A TCP conversation (handshake, data both ways, FIN) and an ICMP echo, between addresses no host here owns.
  const C = { srcMac: "02:00:00:00:30:01", dstMac: "02:00:00:00:30:02", src: "198.18.30.1", dst: "198.18.30.2" };
  const S = { srcMac: C.dstMac, dstMac: C.srcMac, src: C.dst, dst: C.src };
  const tcp = (e: typeof C, sp: number, dp: number, flags: number, payload = 0): FrameSpec => ({
    ...e,
    proto: "tcp",
    srcPort: sp,
    dstPort: dp,
    flags,
    payload,
  });
  const t0 = Date.now();
  const script: FrameSpec[] = [
    tcp(C, 41000, 8080, 0x02),
    tcp(S, 8080, 41000, 0x12),
    tcp(C, 41000, 8080, 0x10),
    tcp(C, 41000, 8080, 0x18, 500),
    tcp(S, 8080, 41000, 0x18, 1400),
    tcp(S, 8080, 41000, 0x18, 600),
    tcp(C, 41000, 8080, 0x11),
    tcp(S, 8080, 41000, 0x11),
    { ...C, proto: "icmp", icmpType: 8, icmpId: 77, payload: 56 },
    { ...S, proto: "icmp", icmpType: 0, icmpId: 77, payload: 56 },
  ];
  const frames = script.map((s, i) => ({ time: t0 + i, data: frame(s) }));
  const file = join(dir, "known.pcap");
  writePcap(file, frames);
  const bytes = (pick: (s: FrameSpec) => boolean) => frames.filter((_, i) => pick(script[i]!)).reduce((n, f) => n + f.data.length, 0);

  const capA = startCapture(a, va, { filter: "host 198.18.30.1" });
  const capB = startCapture(b, vb, { filter: "host 198.18.30.1" });
  await capA.start();
  await capB.start();
  t.after(() => Promise.all([capA.probe.stop(), capB.probe.stop()]));
  // tcpreplay with a 10 ms gap between packets: RTTs are measured on the wire, not from the file.
  execFileSync("ip", ["netns", "exec", a, "tcpreplay", "-i", va, "--pps", "100", file], { stdio: "ignore" });
  await waitFor(
    "flows at B",
    async () => (latest(capB.flows).filter((f) => f.Metric.ABPackets + f.Metric.BAPackets > 0).length === 2 && capB.probe.packets >= 10) || undefined,
    10_000,
  );
  await waitFor("packets at A", async () => capA.probe.packets >= 10 || undefined, 10_000);
  await new Promise((r) => setTimeout(r, 700));

  for (const cap of [capA, capB]) {
    const got = latest(cap.flows);
    assert.equal(got.length, 2);
    const tf = got.find((f) => f.Transport?.Protocol === "TCP")!;
    assert.deepEqual([tf.Network?.A, tf.Transport?.A, tf.Transport?.B], ["198.18.30.1", 41000, 8080]);
    assert.deepEqual(
      [tf.Metric.ABPackets, tf.Metric.ABBytes, tf.Metric.BAPackets, tf.Metric.BABytes],
      [4, bytes((s) => s.proto === "tcp" && s.src === C.src), 4, bytes((s) => s.proto === "tcp" && s.src === S.src)],
    );
    assert.ok((tf.Metric.RTT ?? 0) >= 5e6, `RTT ${tf.Metric.RTT} ns: SYN and SYN-ACK 10 ms apart on the wire`);
    assert.equal(tf.FinishType, "TCP_FIN");
    const icmp = got.find((f) => f.ICMP)!;
    assert.deepEqual([icmp.ICMP?.Type, icmp.ICMP?.ID, icmp.Metric.ABPackets, icmp.Metric.BAPackets], ["ECHO", 77, 1, 1]);
    assert.ok((icmp.Metric.RTT ?? 0) > 0);
  }
  // The same conversation at two capture points: same TrackingID, distinct UUIDs; and the same TrackingID
  // as the file replayed offline.
  const offline = new FlowTable(flowTableConfig.parse({}), { host: "lab", nodeTID: "", captureID: "", captureType: "pcapfile" });
  readCaptureFile(file, (p) => offline.bytes(p.linkType, p.data, p.time, p.length));
  offline.flush(t0 + 100);
  const ids = (fs: FlowRecord[]) => fs.map((f) => f.TrackingID).sort();
  assert.deepEqual(ids(latest(capA.flows)), ids(latest(capB.flows)));
  assert.deepEqual(ids(latest(capA.flows)), ids(offline.drain()));
  const uuids = new Set([...latest(capA.flows), ...latest(capB.flows)].map((f) => f.UUID));
  assert.equal(uuids.size, 4, "a UUID per capture point and flow");
  // Every update of a flow keeps its UUID.
  for (const cap of [capA, capB]) assert.equal(new Set(cap.flows.map((f) => f.UUID)).size, 2);
});

test("a capture on an interface that does not exist fails to start with the reason", async () => {
  const cap = startCapture("", "nosuchif0");
  await assert.rejects(cap.start(), /nosuchif0/);
});
