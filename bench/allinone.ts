// The all-in-one on this machine: start-up time, then RSS and CPU while it watches a lab of N network
// namespaces (each a veth pair to one bridge) and captures UDP traffic at a set packet rate across the
// bridge (a capture ordered through its API, as a user would). References from the same run: reading every
// namespace once with `ip` (the least work that sees the same topology) and the traffic generator's own CPU.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { NetnsLab, ip } from "../test/harness/netns-lab.ts";
import { freePort } from "../test/harness/kafka.ts";

const BIN = fileURLToPath(new URL("../pipeline/bin/skystream.js", import.meta.url));

export interface AllInOneResult {
  namespaces: number;
  /** Spawn → the API answers. */
  apiSecs: number;
  /** Spawn → every lab namespace in the API's graph. */
  labSecs: number;
  ipReadSecs: number;
  packetsPerSec: number;
  cpuPercent: number;
  rssMb: number;
  peakRssMb: number;
  generatorCpuPercent: number;
  flows: number;
}

const HZ = 100; // USER_HZ on Linux
function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return Number(f[11]) + Number(f[12]);
}
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1] ?? 0) / 1024;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A UDP sender pacing `pps` packets a second over `flows` destination ports; prints its packet count at exit. */
const SENDER = (dst: string, pps: number, flows: number) => `
import socket, time, signal, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
n = 0
def stop(*_):
    print(n); sys.stdout.flush(); sys.exit(0)
signal.signal(signal.SIGTERM, stop)
start = time.monotonic()
payload = b'x' * 64
while True:
    due = int((time.monotonic() - start) * ${pps})
    while n < due:
        s.sendto(payload, ('${dst}', 20000 + n % ${flows}))
        n += 1
    time.sleep(0.002)
`;

export async function benchAllInOne(namespaces = 200, pps = 10_000, secs = 30): Promise<AllInOneResult> {
  const lab = new NetnsLab();
  const data = mkdtempSync(join(tmpdir(), "skystream-bench-aio-"));
  let aio: ChildProcess | undefined;
  let sender: ChildProcess | undefined;
  try {
    const sw = lab.ns("sw");
    ip("-n", sw, "link", "add", "br0", "type", "bridge");
    ip("-n", sw, "link", "set", "br0", "up");
    const hosts: string[] = [];
    for (let i = 0; i < namespaces - 1; i++) {
      const h = lab.ns(`h${i}`);
      const [dev, port] = lab.veth(`h${i}`, h, `p${i}`, sw);
      ip("-n", sw, "link", "set", port, "master", "br0");
      ip("-n", h, "addr", "add", `198.18.${Math.floor(i / 250)}.${(i % 250) + 1}/16`, "dev", dev);
      hosts.push(h);
    }
    const r0 = performance.now();
    for (const h of [sw, ...hosts]) execFileSync("ip", ["-n", h, "-j", "-d", "addr", "show"]);
    const ipReadSecs = (performance.now() - r0) / 1000;

    const port = await freePort();
    const api = `http://127.0.0.1:${port}`;
    const t0 = performance.now();
    aio = spawn(process.execPath, [BIN, "allinone"], {
      env: {
        ...process.env,
        SKYSTREAM_LOG_LEVEL: "warn",
        SKYSTREAM_METRICS_LISTEN: "off",
        SKYSTREAM_API_LISTEN: `127.0.0.1:${port}`,
        SKYSTREAM_CLICKHOUSE_DATA_PATH: data,
        SKYSTREAM_AGENT_HOST_ID: `bench-${lab.p}`,
        // Flows leave the table every 5 s (60 s by default), so the window sees them stored.
        SKYSTREAM_AGENT_FLOW_TABLE_UPDATE: "5s",
      },
      stdio: ["ignore", "ignore", "inherit"],
    });
    const pid = aio.pid!;
    let apiSecs = 0;
    for (;;) {
      const r = await fetch(`${api}/api/status`).catch(() => undefined);
      if (r?.ok) break;
      if (aio.exitCode !== null) throw new Error(`the all-in-one exited (${aio.exitCode})`);
      await sleep(50);
    }
    apiSecs = (performance.now() - t0) / 1000;
    const count = async () => {
      const r = await fetch(`${api}/api/topology`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ GremlinQuery: `G.V().Has('Type', 'netns').Has('Name', Regex('${lab.p}-.*')).Count()` }),
      });
      return Number(((await r.json()) as number[])[0] ?? 0);
    };
    while ((await count()) < namespaces) await sleep(100);
    const labSecs = (performance.now() - t0) / 1000;

    // The capture on the bridge: every packet between the lab's hosts crosses it.
    const cap = await fetch(`${api}/api/capture`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ GremlinQuery: `G.V().Has('Name', 'br0').Has('Type', 'bridge')` }),
    });
    if (cap.status !== 201) throw new Error(`capture: ${cap.status} ${await cap.text()}`);
    await sleep(2000);
    const sendT0 = performance.now();
    sender = spawn("ip", ["netns", "exec", hosts[0]!, "python3", "-c", SENDER("198.18.0.2", pps, 100)], { stdio: ["ignore", "pipe", "inherit"] });
    let sent = "";
    sender.stdout!.on("data", (d: Buffer) => (sent += d.toString()));
    await sleep(3000); // the flows start; measure the steady state
    const c0 = cpuTicks(pid);
    const g0 = cpuTicks(sender.pid!);
    const w0 = performance.now();
    let rssSum = 0;
    let peak = 0;
    let samples = 0;
    while (performance.now() - w0 < secs * 1000) {
      await sleep(1000);
      const r = rssMb(pid);
      rssSum += r;
      peak = Math.max(peak, r);
      samples++;
    }
    const wall = (performance.now() - w0) / 1000;
    const cpuPercent = ((cpuTicks(pid) - c0) / HZ / wall) * 100;
    const generatorCpuPercent = ((cpuTicks(sender.pid!) - g0) / HZ / wall) * 100;
    const sendSecs = (performance.now() - sendT0) / 1000;
    sender.kill("SIGTERM");
    await new Promise((r) => sender!.once("exit", r));
    const packetsPerSec = Number(sent.trim() || 0) / sendSecs;
    const flowsRes = await fetch(`${api}/api/topology`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ GremlinQuery: "G.Flows().Has('Transport.B', Gte(20000)).Count()" }),
    });
    const flows = Number(((await flowsRes.json()) as number[])[0] ?? 0);
    return {
      namespaces,
      apiSecs,
      labSecs,
      ipReadSecs,
      packetsPerSec,
      cpuPercent,
      rssMb: rssSum / Math.max(1, samples),
      peakRssMb: peak,
      generatorCpuPercent,
      flows,
    };
  } finally {
    sender?.kill("SIGKILL");
    aio?.kill("SIGKILL");
    lab.destroy();
    rmSync(data, { recursive: true, force: true });
  }
}
