// The host's network namespaces, each with its inode: the host's own, the named ones under /run/netns,
// and (optionally) anonymous ones held only by processes (containers), found through /proc/*/ns/net.
// Probes that attach things to namespaces (netlink, socketinfo, docker) name them the same way.
import { readdir, readlink, stat } from "node:fs/promises";
import { hostNodeId, netnsNodeId } from "../../graph/ids.js";
import { ROOT_NS, type NsRef } from "./netlink/ip.js";

export interface HostNamespace extends NsRef {
  inode: number;
}

const inodeOf = (link: string) => Number(/net:\[(\d+)\]/.exec(link)?.[1] ?? NaN);

/**
 * `ignorePids`: processes that do not keep a namespace alive for our purposes (the probe's own monitors,
 * which live inside the anonymous namespaces they watch).
 */
export async function listNamespaces(runPath: string, anonymous: boolean, ignorePids: ReadonlySet<number> = new Set()): Promise<HostNamespace[]> {
  const rootInode = inodeOf(await readlink("/proc/1/ns/net").catch(() => readlink("/proc/self/ns/net")));
  const out: HostNamespace[] = [{ key: ROOT_NS, name: "", path: "/proc/1/ns/net", inode: rootInode }];
  const names = (await readdir(runPath).catch(() => [] as string[])).filter((n) => !n.startsWith(".")).sort();
  const known = new Set([rootInode]);
  for (const name of names) {
    const st = await stat(`${runPath}/${name}`).catch(() => undefined);
    if (!st) continue;
    known.add(st.ino);
    out.push({ key: name, name, path: `${runPath}/${name}`, inode: st.ino });
  }
  if (anonymous) {
    const pids = (await readdir("/proc"))
      .filter((d) => /^\d+$/.test(d))
      .map(Number)
      .filter((pid) => !ignorePids.has(pid));
    const byInode = new Map<number, number>();
    await Promise.all(
      pids.map(async (pid) => {
        const ino = inodeOf(await readlink(`/proc/${pid}/ns/net`).catch(() => ""));
        if (Number.isFinite(ino) && !known.has(ino) && (!byInode.has(ino) || pid < byInode.get(ino)!)) byInode.set(ino, pid);
      }),
    );
    for (const [ino, pid] of [...byInode].sort((a, b) => a[0] - b[0])) {
      const key = `net:[${ino}]`;
      out.push({ key, name: key, path: `/proc/${pid}/ns/net`, pid, inode: ino });
    }
  }
  return out;
}

/** Graph id of a namespace's node: the host node for the host's own namespace. */
export function namespaceNodeId(hostId: string, ns: NsRef): string {
  return ns.key === ROOT_NS ? hostNodeId(hostId) : netnsNodeId(hostId, ns.key);
}

/** inode -> graph node id, for probes that find a process's namespace through /proc/<pid>/ns/net. */
export async function namespaceNodesByInode(hostId: string, runPath: string): Promise<Map<number, { id: string; named: boolean }>> {
  const out = new Map<number, { id: string; named: boolean }>();
  for (const ns of await listNamespaces(runPath, true)) out.set(ns.inode, { id: namespaceNodeId(hostId, ns), named: ns.key !== ROOT_NS });
  return out;
}
