// Probe "netlink": every network namespace of the host (the root one and those under /run/netns) and
// every interface in them with its addresses, routes, neighbours and bridge FDB, kept live:
// `ip monitor link address route neigh` per namespace wakes a re-read of that namespace (debounced),
// and /run/netns is watched for namespaces coming and going.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, watch, type FSWatcher } from "node:fs";
import { errorMessage } from "@skystream/common";
import { hostNodeId, netnsNodeId } from "../../../graph/ids.js";
import type { TopologyProbe, TopologyProbeDeps } from "../types.js";
import { ROOT_NS, readNamespace } from "./ip.js";
import { namespaceView, vethEdges, type NamespaceLinks } from "./view.js";
import type { NetlinkConfig } from "./config.js";

interface Watched {
  monitor?: ChildProcess;
  timer?: NodeJS.Timeout;
  reading: Promise<void>;
}

export class NetlinkProbe implements TopologyProbe {
  readonly id: string;
  private readonly views = new Map<string, NamespaceLinks>();
  private readonly watched = new Map<string, Watched>();
  private dirWatch?: FSWatcher;
  private stopped = false;

  constructor(
    private readonly cfg: NetlinkConfig,
    private readonly deps: TopologyProbeDeps,
  ) {
    this.id = deps.id;
  }

  private ownerOf(ns: string): string {
    return ns === ROOT_NS ? hostNodeId(this.deps.hostId) : netnsNodeId(this.deps.hostId, ns);
  }

  private listNamespaces(): string[] {
    const named = existsSync(this.cfg.run_path) ? readdirSync(this.cfg.run_path).filter((n) => !n.startsWith(".")) : [];
    return [ROOT_NS, ...named.sort()];
  }

  async start(): Promise<void> {
    await this.rescanNamespaces();
    if (existsSync(this.cfg.run_path)) {
      this.dirWatch = watch(this.cfg.run_path, () => void this.rescanNamespaces());
    }
    this.deps.log.info({ probe: this.id, namespaces: this.views.size }, "netlink probe started");
  }

  /** Starts following new namespaces and drops vanished ones. */
  private async rescanNamespaces(): Promise<void> {
    if (this.stopped) return;
    const now = new Set(this.listNamespaces());
    for (const ns of [...this.watched.keys()]) if (!now.has(ns)) this.forget(ns);
    // A few namespaces at a time: each read spawns ip, and a host may have hundreds of namespaces.
    const todo = [...now].filter((ns) => !this.watched.has(ns));
    const worker = async () => {
      for (let ns = todo.shift(); ns !== undefined; ns = todo.shift()) await this.follow(ns);
    };
    await Promise.all(Array.from({ length: Math.min(8, todo.length) }, worker));
  }

  private async follow(ns: string): Promise<void> {
    const w: Watched = { reading: Promise.resolve() };
    this.watched.set(ns, w);
    const objects = ["link", "address", "route", "neigh"];
    const args = ns === ROOT_NS ? ["monitor", ...objects] : ["-n", ns, "monitor", ...objects];
    const monitor = spawn("ip", args, { stdio: ["ignore", "pipe", "ignore"] });
    monitor.stdout.on("data", () => this.schedule(ns));
    monitor.on("error", (err) => this.deps.log.warn({ ns, err: errorMessage(err) }, "ip monitor failed"));
    w.monitor = monitor;
    await this.read(ns);
  }

  private forget(ns: string): void {
    const w = this.watched.get(ns);
    if (!w) return;
    w.monitor?.kill();
    clearTimeout(w.timer);
    this.watched.delete(ns);
    this.views.delete(ns);
    this.deps.graph.drop(`${this.id}/${ns}`);
    this.syncVeths();
  }

  private schedule(ns: string): void {
    const w = this.watched.get(ns);
    if (!w || w.timer) return;
    w.timer = setTimeout(() => {
      w.timer = undefined;
      void this.read(ns);
    }, this.cfg.debounce);
  }

  /** Re-reads one namespace; reads of a namespace never overlap. */
  private read(ns: string): Promise<void> {
    const w = this.watched.get(ns);
    if (!w) return Promise.resolve();
    w.reading = w.reading.then(async () => {
      if (this.stopped || !this.watched.has(ns)) return;
      try {
        const read = await readNamespace(ns);
        const nl: NamespaceLinks = { ns, ownerId: this.ownerOf(ns), ...read };
        if (!this.watched.has(ns)) return;
        this.views.set(ns, nl);
        const { nodes, edges } = namespaceView(nl, this.deps.hostId);
        this.deps.graph.sync(`${this.id}/${ns}`, nodes, edges);
        this.syncVeths();
      } catch (err) {
        // The namespace was deleted between the event and the read: the directory watch removes it.
        this.deps.log.debug({ ns, err: errorMessage(err) }, "namespace read failed");
      }
    });
    return w.reading;
  }

  private syncVeths(): void {
    this.deps.graph.sync(`${this.id}/veth`, [], vethEdges([...this.views.values()]));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.dirWatch?.close();
    for (const w of this.watched.values()) {
      w.monitor?.kill();
      clearTimeout(w.timer);
    }
    await Promise.all([...this.watched.values()].map((w) => w.reading));
  }
}
