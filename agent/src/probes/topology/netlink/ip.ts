// iproute2 in JSON mode, per network namespace: `ip [-n NS] -j -d addr show` gives every link with its
// kernel details (linkinfo) and addresses; routes and neighbours come in the same `ip -batch` run.
// A Node process cannot setns(2), so namespaces are entered by `ip -n`, which does.
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const exec = promisify(execFile);

export interface IpAddr {
  family: "inet" | "inet6";
  local: string;
  prefixlen: number;
  scope?: string;
}

export interface IpLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  operstate?: string;
  link_type?: string;
  address?: string;
  master?: string;
  link?: string;
  link_index?: number;
  link_netnsid?: number;
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown>; info_slave_kind?: string; info_slave_data?: Record<string, unknown> };
  addr_info?: IpAddr[];
}

export const ROOT_NS = "";

/**
 * A network namespace to read: the host's own (key ""), a named one under /run/netns (key = its name,
 * entered with `-n`), or an anonymous one that only processes hold (key "net:[INODE]", entered with
 * nsenter through one of its processes).
 */
export interface NsRef {
  key: string;
  /** Display name: the key, or net:[INODE] for an anonymous namespace. */
  name: string;
  path: string;
  /** A process inside an anonymous namespace. */
  pid?: number;
}

export const rootNs: NsRef = { key: ROOT_NS, name: "", path: "/proc/1/ns/net" };
export const namedNs = (name: string, runPath: string): NsRef => ({ key: name, name, path: `${runPath}/${name}` });

/** The command line running `tool args` inside the namespace. */
export function inNs(ns: NsRef, tool: string, args: string[]): [string, string[]] {
  if (ns.pid !== undefined) return ["nsenter", [`--net=/proc/${ns.pid}/ns/net`, tool, ...args]];
  if (ns.key === ROOT_NS) return [tool, args];
  return [tool, ["-n", ns.key, ...args]];
}

export interface IpRoute {
  dst: string;
  dev?: string;
  gateway?: string;
  protocol?: string;
  table?: string;
  type?: string;
  metric?: number;
  prefsrc?: string;
  nexthops?: { gateway?: string; dev?: string; weight?: number }[];
}

export interface IpNeigh {
  dst: string;
  dev: string;
  lladdr?: string;
  state?: string[];
}

export interface FdbEntry {
  mac: string;
  ifname: string;
  master?: string;
  vlan?: number;
  state?: string;
  flags?: string[];
}

export interface NamespaceRead {
  links: IpLink[];
  routes: IpRoute[];
  neighbours: IpNeigh[];
  fdb: FdbEntry[];
}

/**
 * Everything the probe needs from one namespace with one `ip -batch` process (links with details and
 * addresses, routes of every table, neighbours), plus `bridge fdb` when the namespace has a bridge.
 */
export async function readNamespace(ns: NsRef): Promise<NamespaceRead> {
  const [file, argv] = inNs(ns, "ip", ["-d", "-j", "-batch", "-"]);
  const out = await new Promise<string>((resolve, reject) => {
    const child = execFile(file, argv, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
    // ip exits early when the namespace has just gone: the failure comes through the exit callback, and
    // the write to its closed stdin (EPIPE) must not become an uncaught error.
    child.stdin!.on("error", () => undefined);
    child.stdin!.end("addr show\nroute show table all\nneigh show\n");
  });
  const [links, routes, neighbours] = out
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as unknown[]);
  const all = (links ?? []) as IpLink[];
  const hasBridge = all.some((l) => l.linkinfo?.info_kind === "bridge" || l.linkinfo?.info_slave_kind === "bridge");
  return { links: all, routes: (routes ?? []) as IpRoute[], neighbours: (neighbours ?? []) as IpNeigh[], fdb: hasBridge ? await fdb(ns) : [] };
}

/** Forwarding entries learnt or set on bridge ports (not the ports' own multicast addresses). */
export async function fdb(ns: NsRef): Promise<FdbEntry[]> {
  const { stdout } = await exec(...inNs(ns, "bridge", ["-j", "fdb", "show"]), { maxBuffer: 64 * 1024 * 1024 });
  const all = (stdout.trim() ? JSON.parse(stdout) : []) as FdbEntry[];
  return all.filter((e) => e.master !== undefined);
}

export interface LinkStats {
  ifindex: number;
  ifname: string;
  stats64?: {
    rx: { bytes: number; packets: number; errors: number; dropped: number; multicast?: number };
    tx: { bytes: number; packets: number; errors: number; dropped: number; collisions?: number };
  };
}

/** Interface counters of a namespace. */
export async function linkStats(ns: NsRef): Promise<LinkStats[]> {
  const { stdout } = await exec(...inNs(ns, "ip", ["-s", "-j", "link", "show"]), { maxBuffer: 64 * 1024 * 1024 });
  return (stdout.trim() ? JSON.parse(stdout) : []) as LinkStats[];
}
