// Flow benchmarks, each beside a reference measured in the same run, on this machine:
// - flowtable: a generated capture (~2M packets, ~20k TCP/UDP/ICMP flows, both directions, 60–1514 byte
//   frames) read, decoded and counted into a flow table in this process on the pcapfile probe's path
//   (CaptureParser + PacketFlows, flows drained per 4 MiB chunk, flushed at the end); reference: tcpdump
//   reading and writing the same file. Also the whole CLI, `skystream agent --pcap FILE --print`, startup
//   included.
// - sflow: real sFlow datagrams sent over loopback UDP at increasing rates by a sender process to a real
//   agent process (sflow probe only, --print); the highest rate it decodes without a drop. Reference:
//   sfacctd (print plugin) fed the same datagrams at the same rates.
// - flowmem: RSS and CPU of a process holding 500k flows in one FlowTable while packets of those flows keep
//   coming at a steady rate; reference: the same process with an empty table.
// Run as a script, this file is those benchmarks' child processes (`child` at the bottom).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createSocket } from "node:dgram";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { createRegistry } from "@skystream/common";
import { flowTableConfig } from "@skystream/agent/flow/config";
import { loadFlowHasher } from "@skystream/agent/flow/ids";
import { FrameView, parseFrame } from "@skystream/agent/flow/packet";
import { CaptureParser, type OnFrame } from "@skystream/agent/flow/pcapfile";
import { seededRandom } from "@skystream/agent/flow/testing/random";
import { PacketFlows, packetCounters } from "@skystream/agent/flow/source";
import { FlowTable } from "@skystream/agent/flow/table";
import { frame, writePcap, type FrameSpec, type TimedFrame } from "@skystream/agent/flow/testing/frames";
import { decodeSflow } from "@skystream/agent/probes/flow/sflow/decode";
import { udpPayloads } from "../test/harness/pcap.ts";

const BIN = fileURLToPath(new URL("../pipeline/bin/skystream.js", import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const SFLOW_CAPTURE = fileURLToPath(new URL("../../shared/testdata/sflow/overflowd__sflow.pcap", import.meta.url));
/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const HZ = 100;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** utime + stime of a process and its threads, in clock ticks. */
function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return Number(f[11]) + Number(f[12]);
}

/** A field of /proc/<pid>/status in MB (VmRSS, VmHWM). */
function statusMb(pid: number, field: string): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`/proc/${pid}/status has no ${field}`);
  return Number(m[1]) / 1024;
}

/** JSON lines a child writes on stdout, one at a time. */
function lines(child: ChildProcess): () => Promise<Record<string, unknown>> {
  const queue: string[] = [];
  const waiting: ((l: string | undefined) => void)[] = [];
  let closed = false;
  const rl = createInterface({ input: child.stdout! });
  rl.on("line", (l) => (waiting.length > 0 ? waiting.shift()!(l) : queue.push(l)));
  rl.on("close", () => {
    closed = true;
    waiting.splice(0).forEach((w) => w(undefined));
  });
  return async () => {
    const l = queue.length > 0 ? queue.shift() : await new Promise<string | undefined>((r) => (closed ? r(undefined) : waiting.push(r)));
    if (l === undefined) throw new Error(`child ${child.spawnargs.slice(-3).join(" ")} exited (${child.exitCode ?? child.signalCode})`);
    return JSON.parse(l) as Record<string, unknown>;
  };
}

/** The same file run as a child process by the benchmarks: `node --import tsx bench/flows.ts <role> ...`. */
function spawnSelf(...args: string[]): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", SELF, ...args], { stdio: ["pipe", "pipe", "inherit"] });
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill(signal);
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

// ---------------------------------------------------------------------------------------------------------
// flowtable

const TCP = 0;
const UDP = 1;
const ICMP = 2;
const TCP_PORTS = [443, 443, 443, 80, 22, 5432, 8080];
const UDP_PORTS = [53, 53, 123, 443, 5353, 3478];
const hex2 = (n: number) => n.toString(16).padStart(2, "0");

/**
 * The frames of flow `i`, by role. TCP: SYN, SYN-ACK, FIN, full data segment, mid-size data segment, ACK
 * (a third of the flows upload, the rest download); UDP: request, response; ICMP: echo request, reply.
 * Clients 10.1.x.y (fd00::a:x for one flow in ten) behind one gateway MAC talk to 250 servers.
 */
function flowFrames(i: number, kind: number, rnd: () => number): Buffer[] {
  const c = i % 4000;
  const s = (i * 7919) % 250;
  const v6 = i % 10 === 9;
  const client = v6 ? `fd00::a:${c.toString(16)}` : `10.1.${c >> 8}.${c & 255}`;
  const server = v6 ? `fd00::5:${(s + 1).toString(16)}` : `172.16.0.${s + 1}`;
  const clientMac = `02:00:0a:01:${hex2(c >> 8)}:${hex2(c & 255)}`;
  const gateway = "02:00:00:00:fe:01";
  const ab = { src: client, dst: server, srcMac: clientMac, dstMac: gateway, ttl: 64 };
  const ba = { src: server, dst: client, srcMac: gateway, dstMac: clientMac, ttl: 57 };
  const port = 32768 + ((Math.floor(i / 4000) * 97 + (c % 89)) % 28000);
  const ip = v6 ? 40 : 20;
  if (kind === ICMP) {
    const id = i & 0xffff;
    return [
      frame({ ...ab, proto: "icmp", icmpType: v6 ? 128 : 8, icmpId: id, payload: 56 }),
      frame({ ...ba, proto: "icmp", icmpType: v6 ? 129 : 0, icmpId: id, payload: 56 }),
    ];
  }
  if (kind === UDP) {
    const dp = UDP_PORTS[i % UDP_PORTS.length]!;
    const h = 14 + ip + 8;
    return [
      frame({ ...ab, proto: "udp", srcPort: port, dstPort: dp, payload: 80 + Math.floor(rnd() * 220) - h }),
      frame({ ...ba, proto: "udp", srcPort: dp, dstPort: port, payload: 100 + Math.floor(rnd() * 1300) - h }),
    ];
  }
  const dp = TCP_PORTS[i % TCP_PORTS.length]!;
  const h = 14 + ip + 20;
  const up: FrameSpec = { ...ab, proto: "tcp", srcPort: port, dstPort: dp };
  const down: FrameSpec = { ...ba, proto: "tcp", srcPort: dp, dstPort: port };
  const [data, acks] = i % 3 === 0 ? [up, down] : [down, up];
  return [
    frame({ ...up, flags: 0x02, payload: 20 }),
    frame({ ...down, flags: 0x12, payload: 20 }),
    frame({ ...up, flags: 0x11, payload: Math.max(0, 60 - h) }),
    frame({ ...data, flags: 0x18, payload: 1514 - h }),
    frame({ ...data, flags: 0x18, payload: 200 + Math.floor(rnd() * 1100) - h }),
    frame({ ...acks, flags: 0x10, payload: Math.max(0, 60 - h) }),
  ];
}

/** Which of its frames the k-th of a flow's n packets is. */
function role(kind: number, k: number, n: number, rnd: () => number): number {
  if (kind !== TCP) return k & 1;
  if (k < 2) return k;
  if (k === n - 1) return 2;
  if (k % 3 === 0) return 5;
  return rnd() < 0.7 ? 3 : 4;
}

export interface Traffic {
  packets: number;
  flows: number;
  bytes: number;
}

/**
 * Writes a classic pcap of about `packets` packets over `flows` flows (70 % TCP, 25 % UDP, 5 % ICMP; 10 %
 * IPv6), spread over 120 s of capture time: each flow starts at a random time and lasts a random part of
 * what remains, its packet count heavy-tailed (most flows small, a few carrying much of the traffic).
 */
export function writeTraffic(path: string, packets = 2_000_000, flows = 20_000, seed = 7): Traffic {
  const SPAN_US = 120e6;
  const ID_BITS = 2 ** 22;
  const T0 = Date.UTC(2025, 0, 1);
  const rnd = seededRandom(seed);
  const kinds = new Uint8Array(flows);
  const counts = new Uint32Array(flows);
  const first = new Uint32Array(flows);
  const templates: Buffer[][] = [];
  const weights = Array.from({ length: flows }, () => (-Math.log(1 - rnd())) ** 2);
  const wsum = weights.reduce((a, b) => a + b, 0);
  let total = 0;
  for (let i = 0; i < flows; i++) {
    kinds[i] = i % 20 === 0 ? ICMP : i % 4 === 1 ? UDP : TCP;
    counts[i] = Math.max(kinds[i] === TCP ? 4 : 2, Math.round((weights[i]! / wsum) * packets));
    first[i] = total;
    total += counts[i]!;
    templates.push(flowFrames(i, kinds[i]!, rnd));
  }
  if (total >= ID_BITS) throw new Error(`${total} packets: at most ${ID_BITS - 1}`);
  // Sort key: µs time above the packet id (flow-major), exact in a double.
  const keys = new Float64Array(total);
  const flowOf = new Uint32Array(total);
  for (let i = 0, id = 0; i < flows; i++) {
    const n = counts[i]!;
    const start = rnd() * 0.9 * SPAN_US;
    const span = (SPAN_US - start) * (0.05 + 0.95 * rnd());
    for (let k = 0; k < n; k++, id++) {
      flowOf[id] = i;
      keys[id] = Math.floor(start + (span * (k + 0.5 * rnd())) / n) * ID_BITS + id;
    }
  }
  keys.sort();
  let bytes = 0;
  function* frames(): Generator<TimedFrame> {
    for (let j = 0; j < total; j++) {
      const key = keys[j]!;
      const id = key % ID_BITS;
      const f = flowOf[id]!;
      const data = templates[f]![role(kinds[f]!, id - first[f]!, counts[f]!, rnd)]!;
      bytes += data.length;
      yield { time: T0 + (key - id) / ID_BITS / 1000, data };
    }
  }
  writePcap(path, frames());
  return { packets: total, flows, bytes };
}

interface Replay {
  packets: number;
  flows: number;
  records: number;
  secs: number;
  cpuSecs: number;
}

/**
 * The pcapfile probe's work in this process: 4 MiB chunks through CaptureParser into PacketFlows, flows
 * drained after every chunk and flushed at the end. Stages "read" and "decode" stop short of the table.
 */
function replay(path: string, stage: "read" | "decode" | "table" = "table"): Replay {
  const flows = new PacketFlows(
    flowTableConfig.parse({}),
    { host: "bench", nodeTID: "", captureID: "", captureType: "pcapfile" },
    "pcapfile",
    packetCounters(createRegistry("bench")),
  );
  let last = 0;
  let records = 0;
  const view = new FrameView();
  const onFrame: OnFrame = {
    read: () => {},
    decode: (data: Buffer, start: number, end: number, _length: number, _time: number, linkType: number) => void parseFrame(linkType, data, start, end, view),
    table: (data: Buffer, start: number, end: number, length: number, time: number, linkType: number) => {
      flows.frame(data, start, end, length, time, linkType);
      last = time;
    },
  }[stage];
  const parser = new CaptureParser(path, onFrame);
  const chunk = Buffer.allocUnsafe(4 << 20);
  const fd = openSync(path, "r");
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  try {
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      parser.push(chunk.subarray(0, n));
      records += flows.drain().length;
    }
  } finally {
    closeSync(fd);
  }
  const packets = parser.end();
  flows.table.flush(last);
  records += flows.drain().length;
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  return { packets, flows: flows.table.stats.flowsCreated, records, secs, cpuSecs: (cpu.user + cpu.system) / 1e6 };
}

/** Wall time of `tcpdump -r FILE -w /dev/null`. */
function tcpdumpRead(path: string): number {
  const t0 = performance.now();
  const r = spawnSync("tcpdump", ["-r", path, "-w", "/dev/null"], { stdio: ["ignore", "ignore", "pipe"] });
  const secs = (performance.now() - t0) / 1000;
  if (r.error) throw new Error(`tcpdump: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`tcpdump -r ${path}: exit ${r.status}: ${r.stderr.toString().trim()}`);
  return secs;
}

export interface FlowTableResult {
  packets: number;
  flows: number;
  fileMb: number;
  genSecs: number;
  /** Packets/s, best of the rounds. */
  ours: number;
  /** CPU time over wall time of that round (above 1: the GC's helper threads). */
  oursCpu: number;
  /** Packets/s of the stages alone, one replay each: CaptureParser only; CaptureParser + parseFrame. */
  readOnly: number;
  readDecode: number;
  /** Flows the table created and records it emitted (updates and last emissions) per replay. */
  flowsCreated: number;
  records: number;
  tcpdump: number;
  cli: number;
  cliSecs: number;
}

export function benchFlowTable(packets = 2_000_000, flows = 20_000, rounds = 3): Promise<FlowTableResult> {
  return withTempDir(async (dir) => {
    const file = join(dir, "traffic.pcap");
    const g0 = performance.now();
    const traffic = writeTraffic(file, packets, flows);
    const genSecs = (performance.now() - g0) / 1000;
    await loadFlowHasher();
    const r: FlowTableResult = {
      packets: traffic.packets,
      flows: traffic.flows,
      fileMb: statSync(file).size / 2 ** 20,
      genSecs,
      ours: 0,
      oursCpu: 0,
      readOnly: 0,
      readDecode: 0,
      flowsCreated: 0,
      records: 0,
      tcpdump: 0,
      cli: 0,
      cliSecs: 0,
    };
    for (let round = 0; round < rounds; round++) {
      const o = replay(file);
      if (o.packets !== traffic.packets) throw new Error(`replay counted ${o.packets} packets of ${traffic.packets}`);
      if (o.packets / o.secs > r.ours) [r.ours, r.oursCpu, r.flowsCreated, r.records] = [o.packets / o.secs, o.cpuSecs / o.secs, o.flows, o.records];
      r.tcpdump = Math.max(r.tcpdump, traffic.packets / tcpdumpRead(file));
    }
    for (const stage of ["read", "decode"] as const) {
      const o = replay(file, stage);
      r[stage === "read" ? "readOnly" : "readDecode"] = o.packets / o.secs;
    }
    // The whole CLI, once: process startup, the probe's async file stream, flows printed as JSON.
    const out = openSync("/dev/null", "w");
    try {
      const t0 = performance.now();
      const cli = spawnSync(process.execPath, [BIN, "agent", "--pcap", file, "--print", "--log-level", "warn"], {
        stdio: ["ignore", out, "pipe"],
        env: { ...process.env, SKYSTREAM_METRICS_LISTEN: "off", SKYSTREAM_AGENT_HOST_ID: "bench" },
      });
      r.cliSecs = (performance.now() - t0) / 1000;
      if (cli.status !== 0) throw new Error(`skystream agent --pcap: exit ${cli.status}: ${cli.stderr.toString().trim()}`);
      r.cli = traffic.packets / r.cliSecs;
    } finally {
      closeSync(out);
    }
    return r;
  });
}

async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "skystream-bench-flows-"));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------
// sflow

interface DatagramSet {
  data: Buffer[];
  samples: number[];
  flowSamples: number[];
}

/**
 * Real sFlow: the overflowd capture's 1,000 datagrams from one switch (~1.26 kB, ~5.9 flow and 0.5 counter
 * samples each, sampled Ethernet/IPv4 headers of one conversation), in `copies` copies whose sampled headers
 * carry rewritten IPv4 addresses (10.copy.n.x for 192.168.1.x): thousands of conversations instead of one.
 */
export function sflowDatagrams(copies = 16): DatagramSet {
  const originals = udpPayloads(SFLOW_CAPTURE).filter((u) => u.dstPort === 6343);
  if (originals.length === 0) throw new Error(`no sFlow datagrams in ${SFLOW_CAPTURE}`);
  const set: DatagramSet = { data: [], samples: [], flowSamples: [] };
  for (let copy = 0; copy < copies; copy++) {
    originals.forEach((u, n) => {
      const b = Buffer.from(u.payload);
      const d = decodeSflow(b);
      let flowSamples = 0;
      for (const s of d.samples) {
        if (s.kind === "flow") flowSamples++;
        for (const r of s.records) {
          const h = r.tag === "0:1" ? (r.data as { headerProtocol: number; header: Uint8Array } | undefined) : undefined;
          if (!h || h.headerProtocol !== 1) continue;
          const at = h.header.byteOffset - b.byteOffset;
          if (at < 0 || !b.subarray(at, at + h.header.length).equals(h.header)) throw new Error("sampled header is not a view of the datagram");
          let o = 12;
          while (o + 4 <= h.header.length && [0x8100, 0x88a8].includes(b.readUInt16BE(at + o))) o += 4;
          if (o + 22 > h.header.length || b.readUInt16BE(at + o) !== 0x0800) continue;
          for (const a of [at + o + 14, at + o + 18]) [b[a], b[a + 1], b[a + 2]] = [10, copy, n & 255];
        }
      }
      set.data.push(b);
      set.samples.push(d.samples.length);
      set.flowSamples.push(flowSamples);
    });
  }
  return set;
}

interface Sent {
  datagrams: number;
  samples: number;
  flowSamples: number;
  secs: number;
  errors: number;
}

/** Sends the set round-robin to 127.0.0.1:port at `rate` datagrams/s for `secs`, in bursts every millisecond. */
async function paced(set: DatagramSet, port: number, rate: number, secs: number): Promise<Sent> {
  const socket = createSocket("udp4");
  let errors = 0;
  socket.on("error", () => errors++);
  await new Promise<void>((r) => socket.connect(port, "127.0.0.1", () => r()));
  const sent: Sent = { datagrams: 0, samples: 0, flowSamples: 0, secs: 0, errors: 0 };
  let bursts = 0;
  let done = 0;
  let i = 0;
  const t0 = performance.now();
  for (;;) {
    const elapsed = performance.now() - t0;
    if (elapsed >= secs * 1000) break;
    const due = Math.floor((elapsed / 1000) * rate) - sent.datagrams;
    for (let j = 0; j < due; j++) {
      if (j === due - 1) {
        bursts++;
        socket.send(set.data[i]!, () => done++);
      } else socket.send(set.data[i]!);
      sent.datagrams++;
      sent.samples += set.samples[i]!;
      sent.flowSamples += set.flowSamples[i]!;
      if (++i === set.data.length) i = 0;
    }
    await sleep(1);
  }
  while (done < bursts) await sleep(1);
  sent.secs = (performance.now() - t0) / 1000;
  sent.errors = errors;
  await new Promise<void>((r) => socket.close(() => r()));
  return sent;
}

/** The sender process: one line of set totals, then a Sent line for every {port, rate, secs} line read. */
async function senderChild(): Promise<void> {
  const set = sflowDatagrams();
  const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
  process.stdout.write(JSON.stringify({ datagrams: set.data.length, samples: sum(set.samples), flowSamples: sum(set.flowSamples) }) + "\n");
  for await (const line of createInterface({ input: process.stdin })) {
    const { port, rate, secs } = JSON.parse(line) as { port: number; rate: number; secs: number };
    process.stdout.write(JSON.stringify(await paced(set, port, rate, secs)) + "\n");
  }
}

/** A UDP socket's receive queue (bytes) and drops, from /proc/net/udp. */
function udpSocket(port: number): { rxQueue: number; drops: number } | undefined {
  const local = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  for (const line of readFileSync("/proc/net/udp", "utf8").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (!f[1]?.endsWith(local)) continue;
    return { rxQueue: parseInt(f[4]!.split(":")[1]!, 16), drops: Number(f[f.length - 1]) };
  }
  return undefined;
}

/** Waits until the socket's queue is empty and `count` (what the receiver has decoded) stops moving. */
async function drained(port: number, count: () => Promise<number> = async () => 0): Promise<void> {
  const t0 = performance.now();
  let last = -1;
  for (;;) {
    const c = await count();
    if ((udpSocket(port)?.rxQueue ?? 0) === 0 && c === last) return;
    if (performance.now() - t0 > 60_000) throw new Error(`port ${port}: receiver still busy after 60 s`);
    last = c;
    await sleep(150);
  }
}

function freeUdpPort(): Promise<number> {
  const s = createSocket("udp4");
  return new Promise((resolve) =>
    s.bind(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    }),
  );
}

function freeTcpPort(): Promise<number> {
  const srv = createServer();
  return new Promise((resolve) =>
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    }),
  );
}

async function waitFor(what: string, cond: () => boolean, child: ChildProcess, log: () => string, ms = 30_000): Promise<void> {
  const t0 = performance.now();
  let spawnError: Error | undefined;
  child.once("error", (err) => (spawnError = err));
  while (!cond()) {
    if (spawnError) throw new Error(`${what}: ${spawnError.message}`);
    if (child.exitCode !== null) throw new Error(`${what}: exited ${child.exitCode}:\n${log()}`);
    if (performance.now() - t0 > ms) throw new Error(`${what}: not ready after ${ms} ms:\n${log()}`);
    await sleep(20);
  }
}

export interface SflowStep {
  /** Datagrams/s asked of the sender, and what it sent. */
  rate: number;
  sent: Sent;
  /** Datagrams decoded (ours) or taken off the socket (sfacctd). */
  received: number;
  /** Datagrams lost: not decoded (ours); dropped by the kernel or missing from the output (sfacctd). */
  drops: number;
  /** Of those, dropped by the kernel on the receiver's full socket buffer (/proc/net/udp). */
  kernelDrops: number;
  /** sfacctd: flow samples sent but absent from its output (kernel drops, or lost between its processes). */
  missingFlowSamples: number;
  /** Receiver CPU (all threads/processes) over the step, in cores. */
  cpu: number;
}

export interface SflowReceiver {
  name: string;
  receiveBuffer: number;
  steps: SflowStep[];
  /** The zero-drop step with the highest rate (undefined: it dropped at the first one). */
  best?: SflowStep;
  /** The sender could not go faster while the receiver still had no drop. */
  senderLimited: boolean;
}

export interface SflowResult {
  datagrams: number;
  samplesPerDatagram: number;
  flowSamplesPerDatagram: number;
  stepSecs: number;
  ours: SflowReceiver;
  sfacctd: SflowReceiver;
}

const LADDER = [2_500, 5_000, 10_000, 15_000, 20_000, 30_000, 40_000, 60_000, 80_000, 100_000, 150_000, 200_000, 300_000];

/** Up the ladder until a step drops or the sender falls short; then one step halfway back. */
async function ramp(
  step: (rate: number) => Promise<SflowStep>,
  onStep: (s: SflowStep) => void,
): Promise<Pick<SflowReceiver, "steps" | "best" | "senderLimited">> {
  const steps: SflowStep[] = [];
  let best: SflowStep | undefined;
  let failed = 0;
  let senderLimited = false;
  const run = async (rate: number) => {
    const s = await step(rate);
    steps.push(s);
    onStep(s);
    if (s.drops === 0 && (!best || s.sent.samples / s.sent.secs > best.sent.samples / best.sent.secs)) best = s;
    return s;
  };
  for (const rate of LADDER) {
    const s = await run(rate);
    if (s.drops > 0) {
      failed = rate;
      break;
    }
    if (s.sent.datagrams / s.sent.secs < 0.95 * rate) {
      senderLimited = true;
      break;
    }
  }
  const below = LADDER[LADDER.indexOf(failed) - 1];
  if (failed && below) await run(Math.round((below + failed) / 2000) * 1000);
  return { steps, best, senderLimited };
}

class Sender {
  private constructor(
    private readonly child: ChildProcess,
    private readonly next: () => Promise<Record<string, unknown>>,
    readonly totals: { datagrams: number; samples: number; flowSamples: number },
  ) {}

  static async start(): Promise<Sender> {
    const child = spawnSelf("sflow-sender");
    const next = lines(child);
    return new Sender(child, next, (await next()) as Sender["totals"]);
  }

  async send(port: number, rate: number, secs: number): Promise<Sent> {
    this.child.stdin!.write(JSON.stringify({ port, rate, secs }) + "\n");
    return (await this.next()) as unknown as Sent;
  }

  stop(): Promise<void> {
    this.child.stdin!.end();
    return stopChild(this.child);
  }
}

/** A real agent with the sflow probe alone, flows printed to /dev/null; decoded datagrams read from its metrics. */
async function rampOurs(sender: Sender, secs: number, onStep: (s: SflowStep) => void): Promise<SflowReceiver> {
  const [port, metricsPort] = [await freeUdpPort(), await freeTcpPort()];
  // The same socket buffer as sfacctd gets (rmem_max): as root our receiver could force a larger one, which
  // would absorb a few seconds of overload and flatter the figure.
  const rmemMax = Number(readFileSync("/proc/sys/net/core/rmem_max", "utf8"));
  const out = openSync("/dev/null", "w");
  const agent = spawn(process.execPath, [BIN, "agent", "--print", "--log-level", "info"], {
    env: {
      ...process.env,
      SKYSTREAM_METRICS_LISTEN: `127.0.0.1:${metricsPort}`,
      SKYSTREAM_AGENT_HOST_ID: "bench",
      SKYSTREAM_AGENT_TOPOLOGY_PROBES: "{}",
      SKYSTREAM_AGENT_FLOW_PROBES: JSON.stringify({ sflow: { listen: `127.0.0.1:${port}`, receive_buffer: rmemMax } }),
    },
    stdio: ["ignore", out, "pipe"],
  });
  closeSync(out);
  let stderr = "";
  agent.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  try {
    await waitFor(
      "agent (sflow probe)",
      () => stderr.includes("sFlow collector listening"),
      agent,
      () => stderr,
    );
    const receiveBuffer = Number(/"receive_buffer":(\d+)/.exec(stderr)?.[1] ?? 0);
    const decoded = async () => {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      return Number(/^skystream_agent_sflow_datagrams_total\{[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0);
    };
    const r = await ramp(async (rate) => {
      const [d0, k0, c0] = [await decoded(), udpSocket(port)!.drops, cpuTicks(agent.pid!)];
      const t0 = performance.now();
      const sent = await sender.send(port, rate, secs);
      await drained(port, decoded);
      const cpu = (cpuTicks(agent.pid!) - c0) / HZ / ((performance.now() - t0) / 1000);
      const received = (await decoded()) - d0;
      const kernelDrops = udpSocket(port)!.drops - k0;
      return { rate, sent, received, drops: sent.datagrams - received, kernelDrops, missingFlowSamples: 0, cpu };
    }, onStep);
    return { name: "skystream agent (sflow probe)", receiveBuffer, ...r };
  } finally {
    await stopChild(agent);
  }
}

/** sfacctd, print plugin (JSON, 5-tuple + MACs + VLAN), started afresh for every step; its output totals read at exit. */
async function rampSfacctd(sender: Sender, secs: number, onStep: (s: SflowStep) => void): Promise<SflowReceiver> {
  const rmemMax = Number(readFileSync("/proc/sys/net/core/rmem_max", "utf8"));
  let receiveBuffer = 0;
  const r = await ramp(
    (rate) =>
      withTempDir(async (dir) => {
        const port = await freeUdpPort();
        const [conf, logFile, outFile] = [join(dir, "sfacctd.conf"), join(dir, "sfacctd.log"), join(dir, "out.json")];
        writeFileSync(
          conf,
          [
            "daemonize: false",
            "sfacctd_ip: 127.0.0.1",
            `sfacctd_port: ${port}`,
            // Both receivers get rmem_max (sfacctd cannot force more).
            `sfacctd_pipe_size: ${rmemMax}`,
            "plugins: print",
            // pmacct's advice for heavy loads (CONFIG-KEYS): buffered transfers to the plugin, buffer:pipe 1:1000.
            "plugin_buffer_size: 102400",
            "plugin_pipe_size: 102400000",
            "aggregate: src_mac, dst_mac, vlan, src_host, dst_host, proto, src_port, dst_port",
            "print_output: json",
            `print_output_file: ${outFile}`,
            "print_refresh_time: 3600",
            `logfile: ${logFile}`,
            "",
          ].join("\n"),
        );
        const d = spawn("sfacctd", ["-f", conf], { stdio: "ignore" });
        const log = () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : "");
        try {
          await waitFor("sfacctd", () => /waiting for sFlow data/.test(log()) && /print\b.*JSON: setting object handlers/.test(log()), d, log);
          receiveBuffer = Number(/sfacctd_pipe_size: obtained=(\d+)/.exec(log())?.[1] ?? 0);
          const pids = () => [d.pid!, ...readFileSync(`/proc/${d.pid}/task/${d.pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number)];
          const ticks = () => pids().reduce((s, pid) => s + (existsSync(`/proc/${pid}/stat`) ? cpuTicks(pid) : 0), 0);
          const c0 = ticks();
          const t0 = performance.now();
          const sent = await sender.send(port, rate, secs);
          await drained(port);
          const cpu = (ticks() - c0) / HZ / ((performance.now() - t0) / 1000);
          const kernelDrops = udpSocket(port)!.drops;
          await sleep(300);
          await stopChild(d, "SIGINT");
          let counted = 0;
          for (const l of existsSync(outFile) ? readFileSync(outFile, "utf8").split("\n") : [])
            if (l.trim()) counted += (JSON.parse(l) as { packets: number }).packets;
          const missingFlowSamples = sent.flowSamples - counted;
          if (missingFlowSamples < 0) throw new Error(`sfacctd counted ${counted} flow samples, ${sent.flowSamples} sent`);
          const lost = kernelDrops > 0 || missingFlowSamples > 0 || /missing data/i.test(log());
          const drops = lost ? Math.max(kernelDrops, Math.ceil(missingFlowSamples / (sent.flowSamples / sent.datagrams)), 1) : 0;
          return { rate, sent, received: sent.datagrams - kernelDrops, drops, kernelDrops, missingFlowSamples, cpu };
        } finally {
          await stopChild(d, "SIGKILL");
        }
      }),
    onStep,
  );
  return { name: "sfacctd (print plugin)", receiveBuffer, ...r };
}

export async function benchSflow(secs = 4, onStep: (receiver: string, s: SflowStep) => void = () => {}): Promise<SflowResult> {
  const sender = await Sender.start();
  try {
    const t = sender.totals;
    const ours = await rampOurs(sender, secs, (s) => onStep("ours", s));
    const sfacctd = await rampSfacctd(sender, secs, (s) => onStep("sfacctd", s));
    return {
      datagrams: t.datagrams,
      samplesPerDatagram: t.samples / t.datagrams,
      flowSamplesPerDatagram: t.flowSamples / t.datagrams,
      stepSecs: secs,
      ours,
      sfacctd,
    };
  } finally {
    await sender.stop();
  }
}

// ---------------------------------------------------------------------------------------------------------
// flowmem

export interface FlowMemRun {
  flows: number;
  rate: number;
  fillSecs: number;
  held: number;
  fed: number;
  rssMb: number;
  hwmMb: number;
  heapMb: number;
  cpu: number;
}

export interface FlowMemResult {
  full: FlowMemRun;
  empty: FlowMemRun;
  secs: number;
  bytesPerFlow: number;
}

/** A child holding `flows` flows fed `rate` packets/s: RSS at the end and CPU over `secs` of steady state. */
async function flowmemRun(flows: number, rate: number, secs: number): Promise<FlowMemRun> {
  const child = spawnSelf("flowmem", String(flows), String(rate));
  const next = lines(child);
  try {
    const filled = await next();
    let last = filled;
    void (async () => {
      for (;;) last = await next();
    })().catch(() => undefined);
    await sleep(1000);
    const c0 = cpuTicks(child.pid!);
    const t0 = performance.now();
    await sleep(secs * 1000);
    const cpu = (cpuTicks(child.pid!) - c0) / HZ / ((performance.now() - t0) / 1000);
    const [rssMb, hwmMb] = [statusMb(child.pid!, "VmRSS"), statusMb(child.pid!, "VmHWM")];
    if (last.held !== flows) throw new Error(`flow table holds ${String(last.held)} flows, ${flows} expected`);
    return { flows, rate, fillSecs: filled.fillSecs as number, held: last.held, fed: last.fed as number, rssMb, hwmMb, heapMb: last.heapMb as number, cpu };
  } finally {
    child.stdin!.end();
    await stopChild(child);
  }
}

export async function benchFlowMem(flows = 500_000, rate = 50_000, secs = 10): Promise<FlowMemResult> {
  const empty = await flowmemRun(0, 0, Math.min(secs, 3));
  const full = await flowmemRun(flows, rate, secs);
  return { full, empty, secs, bytesPerFlow: ((full.rssMb - empty.rssMb) * 2 ** 20) / flows };
}

/**
 * The flowmem process: `flows` distinct flows (3 HTTPS over TCP to 1 QUIC, 10.x.y.z clients, 250 servers)
 * decoded and counted into one FlowTable that neither updates nor expires them (no DNS: its 10 s application
 * timeout would), then `rate` packets/s of those flows (request and reply in turn); a JSON line of its state
 * every second.
 */
async function flowmemChild(flows: number, rate: number): Promise<void> {
  await loadFlowHasher();
  const table = new FlowTable(flowTableConfig.parse({ update: "24h", expire: "24h", max_entries: Math.max(1, flows) }), {
    host: "bench",
    nodeTID: "",
    captureID: "",
    captureType: "capture",
  });
  const base = { src: "10.0.0.1", dst: "172.16.0.1", srcMac: "02:00:0a:00:00:01", dstMac: "02:00:00:00:fe:01" };
  const tcp = frame({ ...base, proto: "tcp", srcPort: 40000, dstPort: 443, flags: 0x18, payload: 200 });
  const udp = frame({ ...base, proto: "udp", srcPort: 40000, dstPort: 443, payload: 1200 });
  const view = new FrameView();
  let fed = 0;
  // Ethernet (no VLAN) + IPv4: MACs at 0 and 6, addresses at 26 and 30, ports at 34 and 36.
  const feed = (i: number, reply: boolean) => {
    const b = i % 4 === 3 ? udp : tcp;
    const client = [10, (i >> 16) & 255, (i >> 8) & 255, i & 255];
    const server = [172, 16, 0, 1 + (i % 250)];
    const clientMac = [2, 0, 10, (i >> 16) & 255, (i >> 8) & 255, i & 255];
    const gateway = [2, 0, 0, 0, 0xfe, 1];
    const cport = 1024 + (i % 60000);
    const sport = 443;
    b.set(reply ? clientMac : gateway, 0);
    b.set(reply ? gateway : clientMac, 6);
    b.set(reply ? server : client, 26);
    b.set(reply ? client : server, 30);
    b.writeUInt16BE(reply ? sport : cport, 34);
    b.writeUInt16BE(reply ? cport : sport, 36);
    parseFrame(1, b, 0, b.length, view);
    table.frame(view, Date.now(), b.length);
    fed++;
  };
  const f0 = performance.now();
  for (let i = 0; i < flows; i++) feed(i, false);
  const report = (extra: Record<string, number> = {}) =>
    process.stdout.write(JSON.stringify({ held: table.size, fed, heapMb: process.memoryUsage().heapUsed / 2 ** 20, ...extra }) + "\n");
  report({ fillSecs: (performance.now() - f0) / 1000 });
  if (rate > 0 && flows > 0) {
    const t0 = performance.now();
    let sent = 0;
    setInterval(() => {
      const due = Math.floor(((performance.now() - t0) / 1000) * rate) - sent;
      for (let j = 0; j < due; j++, sent++) feed(Math.floor(sent / 2) % flows, sent % 2 === 1);
    }, 10);
  }
  setInterval(() => report(), 1000);
  // Ends with its parent: stdin closes.
  process.stdin.resume();
  process.stdin.on("end", () => process.exit(0));
}

// ---------------------------------------------------------------------------------------------------------

async function child(role: string, args: string[]): Promise<void> {
  if (role === "sflow-sender") return senderChild();
  if (role === "flowmem") return flowmemChild(Number(args[0]), Number(args[1]));
  throw new Error(`bench/flows.ts: unknown role ${role}`);
}

if (process.argv[1] === SELF) await child(process.argv[2] ?? "", process.argv.slice(3));
