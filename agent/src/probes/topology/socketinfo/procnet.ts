// Sockets from /proc, without setns: /proc/<pid>/net/{tcp,tcp6,udp,udp6} show the sockets of that
// process's network namespace, and /proc/<pid>/fd/* links ("socket:[inode]") name the owning process.
import { readFile, readdir, readlink } from "node:fs/promises";

export type Protocol = "TCP" | "UDP";

export interface ProcSocket {
  Protocol: Protocol;
  LocalAddress: string;
  LocalPort: number;
  RemoteAddress: string;
  RemotePort: number;
  State: string;
  inode: number;
}

const TCP_STATES: Record<string, string> = {
  "01": "ESTABLISHED",
  "02": "SYN_SENT",
  "03": "SYN_RECV",
  "04": "FIN_WAIT1",
  "05": "FIN_WAIT2",
  "06": "TIME_WAIT",
  "07": "CLOSE",
  "08": "CLOSE_WAIT",
  "09": "LAST_ACK",
  "0A": "LISTEN",
  "0B": "CLOSING",
};

/** Kernel hex address: IPv4 is one little-endian word, IPv6 four little-endian words. */
export function parseHexAddress(hex: string): string {
  const bytes: number[] = [];
  for (let w = 0; w < hex.length; w += 8) {
    const word = hex.slice(w, w + 8);
    for (let i = 6; i >= 0; i -= 2) bytes.push(parseInt(word.slice(i, i + 2), 16));
  }
  if (bytes.length === 4) return bytes.join(".");
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  // IPv4-mapped addresses read better as IPv4.
  if (groups.slice(0, 5).every((g) => g === "0") && groups[5] === "ffff") return bytes.slice(12).join(".");
  return compressV6(groups);
}

function compressV6(groups: string[]): string {
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > bestLen && j - i > 1) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (best < 0) return groups.join(":");
  return `${groups.slice(0, best).join(":")}::${groups.slice(best + bestLen).join(":")}`;
}

export function parseProcNet(text: string, protocol: Protocol): ProcSocket[] {
  const out: ProcSocket[] = [];
  const lines = text.split("\n");
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i]!.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [la, lp] = f[1]!.split(":");
    const [ra, rp] = f[2]!.split(":");
    const inode = Number(f[9]);
    const state = protocol === "TCP" ? (TCP_STATES[f[3]!] ?? "UNKNOWN") : f[3] === "07" ? "CLOSE" : (TCP_STATES[f[3]!] ?? "UNKNOWN");
    out.push({
      Protocol: protocol,
      LocalAddress: parseHexAddress(la!),
      LocalPort: parseInt(lp!, 16),
      RemoteAddress: parseHexAddress(ra!),
      RemotePort: parseInt(rp!, 16),
      State: state,
      inode,
    });
  }
  return out;
}

/** Sockets of the namespace `pid` lives in. */
export async function namespaceSockets(pid: number): Promise<ProcSocket[]> {
  const files: [string, Protocol][] = [
    ["tcp", "TCP"],
    ["tcp6", "TCP"],
    ["udp", "UDP"],
    ["udp6", "UDP"],
  ];
  const parts = await Promise.all(
    files.map(([f, p]) =>
      readFile(`/proc/${pid}/net/${f}`, "utf8").then(
        (t) => parseProcNet(t, p),
        () => [],
      ),
    ),
  );
  return parts.flat();
}

export interface ProcessInfo {
  Pid: number;
  Name: string;
  Process: string;
  Cmdline: string;
}

export async function processInfo(pid: number): Promise<ProcessInfo> {
  const [comm, exe, cmdline] = await Promise.all([
    readFile(`/proc/${pid}/comm`, "utf8").catch(() => ""),
    readlink(`/proc/${pid}/exe`).catch(() => ""),
    readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => ""),
  ]);
  return { Pid: pid, Name: comm.trim(), Process: exe, Cmdline: cmdline.replace(/\0/g, " ").trim().slice(0, 512) };
}

/** pid -> network namespace inode, for every process we may read. */
export async function processNamespaces(): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  const pids = (await readdir("/proc")).filter((d) => /^\d+$/.test(d)).map(Number);
  await Promise.all(
    pids.map(async (pid) => {
      const link = await readlink(`/proc/${pid}/ns/net`).catch(() => "");
      const m = /net:\[(\d+)\]/.exec(link);
      if (m) out.set(pid, Number(m[1]));
    }),
  );
  return out;
}

/** Socket inode -> pid, walking the fds of the given processes. */
export async function socketOwners(pids: number[]): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  await Promise.all(
    pids.map(async (pid) => {
      const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
      await Promise.all(
        fds.map(async (fd) => {
          const link = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => "");
          const m = /^socket:\[(\d+)\]$/.exec(link);
          if (m) out.set(Number(m[1]), pid);
        }),
      );
    }),
  );
  return out;
}
