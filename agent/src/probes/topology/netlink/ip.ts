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
