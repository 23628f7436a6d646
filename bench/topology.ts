// Topology at scale: a lab of N namespaces, each with a veth pair to a port of one bridge, watched by a
// real agent process (--print, no broker). Figures: time to the first complete snapshot, delivery of a
// burst of 1,000 changes, idle CPU and RSS. References from the same run: reading the same namespaces
// with `ip` alone, and making the 1,000 changes.
import { execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { NetnsLab, ip } from "../test/harness/netns-lab.ts";

const BIN = fileURLToPath(new URL("../pipeline/bin/skystream.js", import.meta.url));

export interface TopologyResult {
  namespaces: number;
  setupSecs: number;
  snapshotSecs: number;
  ipReadSecs: number;
  burstChanges: number;
  burstSecs: number;
  burstApplySecs: number;
  idleCpuPercent: number;
  idleRssMb: number;
}

function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return Number(f[11]) + Number(f[12]);
}

export async function benchTopology(namespaces = 200): Promise<TopologyResult> {
  const lab = new NetnsLab();
  try {
    const s0 = performance.now();
    const sw = lab.ns("sw");
    ip("-n", sw, "link", "add", "br0", "type", "bridge");
    ip("-n", sw, "link", "set", "br0", "up");
    const hosts: { ns: string; dev: string }[] = [];
    for (let i = 0; i < namespaces - 1; i++) {
      const h = lab.ns(`h${i}`);
      const [dev, port] = lab.veth(`h${i}`, h, `p${i}`, sw);
      ip("-n", sw, "link", "set", port, "master", "br0");
      hosts.push({ ns: h, dev });
    }
    const setupSecs = (performance.now() - s0) / 1000;
    const setupEnd = performance.now();

    // Reference: reading every namespace once with ip.
    const r0 = performance.now();
    for (const h of [{ ns: sw }, ...hosts]) execFileSync("ip", ["-n", h.ns, "-j", "-d", "addr", "show"]);
    const ipReadSecs = (performance.now() - r0) / 1000;

    const t0 = performance.now();
    const agent = spawn(process.execPath, [BIN, "agent", "--print", "--log-level", "info"], {
      env: {
        ...process.env,
        SKYSTREAM_METRICS_LISTEN: "off",
        SKYSTREAM_AGENT_HOST_ID: `bench-${lab.p}`,
        SKYSTREAM_AGENT_TOPOLOGY_PROBES: JSON.stringify({ host: {}, netlink: {} }),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    let snapshotAt = 0;
    agent.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      if (!snapshotAt && stderr.includes("topology snapshot published")) snapshotAt = performance.now();
    });
    const wanted = new Set(hosts.map((h) => h.dev));
    let seen = 0;
    let target = -1;
    let partial = "";
    let lastOutput = performance.now();
    agent.stdout.on("data", (d: Buffer) => {
      lastOutput = performance.now();
      const text = partial + d.toString();
      const lines = text.split("\n");
      partial = lines.pop()!;
      for (const l of lines) {
        if (target < 0 || !l.includes('"UPDATE"')) continue;
        const node = (JSON.parse(l) as { TopologyDelta: { Node?: { Name: string; Metadata: { MTU: number } } } }).TopologyDelta.Node;
        if (node && wanted.has(node.Name) && node.Metadata.MTU === target) seen++;
      }
    });
    while (!snapshotAt) {
      if (agent.exitCode !== null) throw new Error(`agent exited:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const snapshotSecs = (snapshotAt - t0) / 1000;

    // Idle: once the new lab has settled (IPv6 DAD, bridge ports reaching forwarding make kernel events
    // for a while), 5 s with nothing changing.
    const settleStart = performance.now();
    // Bridge ports take the 15 s forward delay to reach forwarding.
    while ((performance.now() - lastOutput < 3000 || performance.now() - setupEnd < 20_000) && performance.now() - settleStart < 60_000) {
      await new Promise((r) => setTimeout(r, 200));
    }
    const c0 = cpuTicks(agent.pid!);
    await new Promise((r) => setTimeout(r, 5000));
    const idleCpuPercent = ((cpuTicks(agent.pid!) - c0) / 100 / 5) * 100;
    const idleRssMb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${agent.pid}/status`, "utf8"))![1]) / 1024;

    // Burst: 1,000 MTU changes (several per interface, one `ip -batch` per namespace); the last value of
    // every interface is awaited.
    const rounds = Math.ceil(1000 / hosts.length);
    target = 1400 - (rounds - 1);
    const b0 = performance.now();
    for (const h of hosts) {
      const script = Array.from({ length: rounds }, (_, r) => `link set ${h.dev} mtu ${1400 - r}`).join("\n") + "\n";
      execFileSync("ip", ["-n", h.ns, "-batch", "-"], { input: script });
    }
    const burstApplySecs = (performance.now() - b0) / 1000;
    while (seen < hosts.length) {
      if (performance.now() - b0 > 120_000) throw new Error(`only ${seen} of ${hosts.length} final updates arrived`);
      await new Promise((r) => setTimeout(r, 10));
    }
    const burstSecs = (performance.now() - b0) / 1000;
    agent.kill("SIGTERM");
    await new Promise((r) => agent.once("exit", r));
    return { namespaces, setupSecs, snapshotSecs, ipReadSecs, burstChanges: rounds * hosts.length, burstSecs, burstApplySecs, idleCpuPercent, idleRssMb };
  } finally {
    lab.destroy();
  }
}
