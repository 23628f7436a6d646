// iproute2 in JSON mode, per network namespace: `ip [-n NS] -j -d addr show` gives every link with its
// kernel details (linkinfo) and addresses in one call. A Node process cannot setns(2), so namespaces
// are entered by `ip -n`, which does.
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

const nsArgs = (ns: string) => (ns === ROOT_NS ? [] : ["-n", ns]);

export async function ipJson<T>(ns: string, args: string[]): Promise<T> {
  const { stdout } = await exec("ip", [...nsArgs(ns), "-j", ...args], { maxBuffer: 64 * 1024 * 1024 });
  return (stdout.trim() ? JSON.parse(stdout) : []) as T;
}

export function links(ns: string): Promise<IpLink[]> {
  return ipJson<IpLink[]>(ns, ["-d", "addr", "show"]);
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

/** Routes of every table (both families). */
export function routes(ns: string): Promise<IpRoute[]> {
  return ipJson<IpRoute[]>(ns, ["route", "show", "table", "all"]);
}

export async function neighbours(ns: string): Promise<IpNeigh[]> {
  const [v4, v6] = await Promise.all([ipJson<IpNeigh[]>(ns, ["-4", "neigh", "show"]), ipJson<IpNeigh[]>(ns, ["-6", "neigh", "show"])]);
  return [...v4, ...v6];
}

/** Forwarding entries learnt or set on bridge ports (not the ports' own multicast addresses). */
export async function fdb(ns: string): Promise<FdbEntry[]> {
  const { stdout } = await exec("bridge", [...nsArgs(ns), "-j", "fdb", "show"], { maxBuffer: 64 * 1024 * 1024 });
  const all = (stdout.trim() ? JSON.parse(stdout) : []) as FdbEntry[];
  return all.filter((e) => e.master !== undefined);
}
