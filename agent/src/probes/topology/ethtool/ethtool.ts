// ethtool's three views of an interface, parsed: driver info (-i), link settings, and features (--json -k).
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const exec = promisify(execFile);

function inNs(ns: string, args: string[]): [string, string[]] {
  return ns ? ["ip", ["netns", "exec", ns, "ethtool", ...args]] : ["ethtool", args];
}

async function run(ns: string, args: string[]): Promise<string> {
  const [cmd, argv] = inNs(ns, args);
  return (await exec(cmd, argv, { timeout: 5000 })).stdout;
}

function keyValues(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const i = line.indexOf(":");
    if (i > 0) out.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  return out;
}

export interface EthtoolInfo {
  Driver?: string;
  DriverVersion?: string;
  Firmware?: string;
  BusInfo?: string;
  Speed?: number;
  Duplex?: string;
  Autoneg?: boolean;
  LinkDetected?: boolean;
  Features?: string[];
}

/** What ethtool knows of an interface; views it cannot give are left out. */
export async function ethtoolInfo(ns: string, ifname: string): Promise<EthtoolInfo> {
  const [drv, link, feat] = await Promise.all([
    run(ns, ["-i", ifname]).catch(() => ""),
    run(ns, [ifname]).catch(() => ""),
    run(ns, ["--json", "-k", ifname]).catch(() => ""),
  ]);
  const out: EthtoolInfo = {};
  const d = keyValues(drv);
  if (d.get("driver")) out.Driver = d.get("driver");
  if (d.get("version")) out.DriverVersion = d.get("version");
  if (d.get("firmware-version")) out.Firmware = d.get("firmware-version");
  if (d.get("bus-info")) out.BusInfo = d.get("bus-info");
  const l = keyValues(link);
  const speed = /^(\d+)Mb\/s$/.exec(l.get("Speed") ?? "");
  if (speed) out.Speed = Number(speed[1]);
  if (l.get("Duplex") && l.get("Duplex") !== "Unknown! (255)") out.Duplex = l.get("Duplex");
  if (l.has("Auto-negotiation")) out.Autoneg = l.get("Auto-negotiation") === "on";
  if (l.has("Link detected")) out.LinkDetected = l.get("Link detected") === "yes";
  if (feat.trim()) {
    try {
      const [f] = JSON.parse(feat) as Record<string, { active?: boolean } | string>[];
      out.Features = Object.entries(f ?? {})
        .filter(([k, v]) => k !== "ifname" && typeof v === "object" && v.active === true)
        .map(([k]) => k)
        .sort();
    } catch {
      /* older ethtool without --json */
    }
  }
  return out;
}
