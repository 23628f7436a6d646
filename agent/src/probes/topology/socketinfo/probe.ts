// Probe "socketinfo": TCP and UDP sockets of every network namespace that has a process, with the
// process at each end (pid, name, executable, command line), as the Sockets metadata of the host node
// (root namespace) or of the netns node (named or anonymous). Polled; the walk of /proc/<pid>/fd only runs when a socket
// inode is new, so a tick is a few reads of /proc/<pid>/net/*.
import { errorMessage, every, type Periodic } from "@skystream/common";
import { namespaceNodesByInode } from "../namespaces.js";
import type { TopologyProbe, TopologyProbeDeps } from "../types.js";
import type { SocketinfoConfig } from "./config.js";
import { namespaceSockets, processInfo, processNamespaces, socketOwners, type ProcessInfo } from "./procnet.js";

export interface Socket extends ProcessInfo {
  Protocol: string;
  LocalAddress: string;
  LocalPort: number;
  RemoteAddress: string;
  RemotePort: number;
  State: string;
}

export class SocketinfoProbe implements TopologyProbe {
  readonly id: string;
  private poll?: Periodic;
  private readonly owners = new Map<number, number>(); // socket inode -> pid
  private readonly processes = new Map<number, ProcessInfo>();
  private decorated = new Set<string>();

  constructor(
    private readonly cfg: SocketinfoConfig,
    private readonly deps: TopologyProbeDeps,
  ) {
    this.id = deps.id;
  }

  async start(): Promise<void> {
    await this.tick();
    this.poll = every(this.cfg.interval, () => this.tick());
  }

  private async tick(): Promise<void> {
    try {
      const [nsOfPid, byInode] = await Promise.all([processNamespaces(), namespaceNodesByInode(this.deps.hostId, this.cfg.run_path)]);
      const nodes = new Map([...byInode].map(([ino, n]) => [ino, n.id]));
      const pidsOfNs = new Map<number, number[]>();
      for (const [pid, ns] of nsOfPid) {
        if (!nodes.has(ns)) continue;
        let l = pidsOfNs.get(ns);
        if (!l) pidsOfNs.set(ns, (l = []));
        l.push(pid);
      }
      for (const pid of this.processes.keys()) if (!nsOfPid.has(pid)) this.processes.delete(pid);
      const seen = new Set<string>();
      for (const [ns, pids] of pidsOfNs) {
        const nodeId = nodes.get(ns)!;
        const raw = await namespaceSockets(pids[0]!);
        const live = raw.filter((s) => s.inode !== 0);
        if (live.some((s) => !this.owners.has(s.inode) || !nsOfPid.has(this.owners.get(s.inode)!))) {
          for (const [inode, pid] of await socketOwners(pids)) this.owners.set(inode, pid);
        }
        const sockets: Socket[] = [];
        for (const s of live) {
          const pid = this.owners.get(s.inode);
          if (pid === undefined) continue;
          let proc = this.processes.get(pid);
          if (!proc) this.processes.set(pid, (proc = await processInfo(pid)));
          const { inode: _inode, ...rest } = s;
          sockets.push({ ...rest, ...proc });
        }
        sockets.sort(
          (a, b) =>
            a.Protocol.localeCompare(b.Protocol) ||
            a.LocalPort - b.LocalPort ||
            a.RemotePort - b.RemotePort ||
            a.Pid - b.Pid ||
            a.RemoteAddress.localeCompare(b.RemoteAddress),
        );
        this.deps.graph.decorate(this.id, nodeId, { Sockets: sockets });
        seen.add(nodeId);
      }
      for (const nodeId of this.decorated) if (!seen.has(nodeId)) this.deps.graph.decorate(this.id, nodeId, undefined);
      this.decorated = seen;
      // Forget owners of sockets that are gone, so the map does not grow forever.
      if (this.owners.size > 100_000) this.owners.clear();
    } catch (err) {
      this.deps.log.warn({ probe: this.id, err: errorMessage(err) }, "socket scan failed");
    }
  }

  async stop(): Promise<void> {
    await this.poll?.stop();
  }
}
