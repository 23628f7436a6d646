// Probe "netlink": every network namespace of the host (its own, those under /run/netns, and anonymous
// ones held by processes such as containers) and every interface in them with its addresses, routes,
// neighbours, bridge FDB and counters, kept live: `ip monitor link address route neigh` per namespace
// wakes a re-read of that namespace (debounced); /run/netns is watched, anonymous namespaces are polled.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, watch, type FSWatcher } from "node:fs";
import { errorMessage, every, type Periodic } from "@skystream/common";
import { listNamespaces, namespaceNodeId } from "../namespaces.js";
import type { TopologyProbe, TopologyProbeDeps } from "../types.js";
import { inNs, linkStats, readNamespace, type LinkStats, type NsRef } from "./ip.js";
import { linkNodeId, namespaceView, vethEdges, type NamespaceLinks } from "./view.js";
import type { NetlinkConfig } from "./config.js";

interface Watched {
  ref: NsRef;
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
  private metrics?: Periodic;
  /** Last counters per interface node, for LastUpdateMetric. */
  private readonly counters = new Map<string, { at: number; m: Record<string, number> }>();

  constructor(
    private readonly cfg: NetlinkConfig,
    private readonly deps: TopologyProbeDeps,
  ) {
    this.id = deps.id;
  }

  private scanTimer?: NodeJS.Timeout;

  async start(): Promise<void> {
    await this.rescanNamespaces();
    if (existsSync(this.cfg.run_path)) {
      this.dirWatch = watch(this.cfg.run_path, () => void this.rescanNamespaces());
    }
    // Anonymous namespaces come and go with processes: no file to watch, so look now and then.
    if (this.cfg.anonymous_interval > 0) this.scanTimer = setInterval(() => void this.rescanNamespaces(), this.cfg.anonymous_interval);
    if (this.cfg.metrics_interval > 0) {
      // Counters follow the first snapshot rather than delay it.
      this.metrics = every(this.cfg.metrics_interval, () => this.readMetrics(), { now: true });
    }
    this.deps.log.info({ probe: this.id, namespaces: this.views.size }, "netlink probe started");
  }

  /** Starts following new namespaces and drops vanished ones. */
  private async rescanNamespaces(): Promise<void> {
    if (this.stopped) return;
    const monitors = new Set([...this.watched.values()].map((w) => w.monitor?.pid).filter((p): p is number => p !== undefined));
    const list = await listNamespaces(this.cfg.run_path, this.cfg.anonymous_interval > 0, monitors);
    const now = new Set(list.map((n) => n.key));
    for (const ns of [...this.watched.keys()]) if (!now.has(ns)) this.forget(ns);
    // The process an anonymous namespace is entered through may have changed.
    for (const ref of list) {
      const w = this.watched.get(ref.key);
      if (w) w.ref = ref;
    }
    // A few namespaces at a time: each read spawns ip, and a host may have hundreds of namespaces.
    const todo = list.filter((ns) => !this.watched.has(ns.key));
    const worker = async () => {
      for (let ns = todo.shift(); ns !== undefined; ns = todo.shift()) await this.follow(ns);
    };
    await Promise.all(Array.from({ length: Math.min(8, todo.length) }, worker));
  }

  private async follow(ref: NsRef): Promise<void> {
    const ns = ref.key;
    const w: Watched = { ref, reading: Promise.resolve() };
    this.watched.set(ns, w);
    const monitor = spawn(...inNs(ref, "ip", ["monitor", "link", "address", "route", "neigh"]), { stdio: ["ignore", "pipe", "ignore"] });
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
        const read = await readNamespace(w.ref);
        const nl: NamespaceLinks = { ns, name: w.ref.name, path: w.ref.path, ownerId: namespaceNodeId(this.deps.hostId, w.ref), ...read };
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

  /**
   * Interface counters as Skydive's InterfaceMetric: Metric holds the totals, LastUpdateMetric what
   * changed since the previous read (Start..Last). Interfaces whose counters did not move are left alone.
   */
  private async readMetrics(): Promise<void> {
    const now = Date.now();
    for (const [ns, view] of this.views) {
      const ref = this.watched.get(ns)?.ref;
      if (!ref) continue;
      let stats: LinkStats[];
      try {
        stats = await linkStats(ref);
      } catch {
        continue;
      }
      for (const st of stats) {
        const link = view.links.find((l) => l.ifindex === st.ifindex && l.ifname === st.ifname);
        if (!link || !st.stats64) continue;
        const id = linkNodeId(view, link);
        const { rx, tx } = st.stats64;
        const m: Record<string, number> = {
          RxBytes: rx.bytes,
          RxPackets: rx.packets,
          RxErrors: rx.errors,
          RxDropped: rx.dropped,
          Multicast: rx.multicast ?? 0,
          TxBytes: tx.bytes,
          TxPackets: tx.packets,
          TxErrors: tx.errors,
          TxDropped: tx.dropped,
          Collisions: tx.collisions ?? 0,
        };
        const prev = this.counters.get(id);
        this.counters.set(id, { at: now, m });
        if (prev && Object.keys(m).every((k) => m[k] === prev.m[k])) continue;
        const last: Record<string, number> = { Start: prev?.at ?? now, Last: now };
        for (const k of Object.keys(m)) last[k] = m[k]! - (prev?.m[k] ?? 0);
        this.deps.graph.decorate(`${this.id}/metrics`, id, { Metric: { ...m, Last: now }, LastUpdateMetric: last });
      }
    }
  }

  private syncVeths(): void {
    this.deps.graph.sync(`${this.id}/veth`, [], vethEdges([...this.views.values()]));
  }

  async stop(): Promise<void> {
    this.stopped = true;

    clearInterval(this.scanTimer);
    await this.metrics?.stop();
    this.dirWatch?.close();
    for (const w of this.watched.values()) {
      w.monitor?.kill();
      clearTimeout(w.timer);
    }
    await Promise.all([...this.watched.values()].map((w) => w.reading));
  }
}
