// Probe "k8s": the Kubernetes objects of a cluster as Skydive's analyzer-side k8s probe showed them
// (node Types, K8s metadata, State, and its edges), followed with list + watch, plus the links from this
// host's pods to their network namespaces, interfaces and runtime containers. Cluster-wide by default;
// with node_only, just this node, its pods and their containers (to run on every agent).
// Each kind has a reflector (reflector.ts); any change schedules one graph update (debounced) that maps
// what changed (by resourceVersion) and recomputes the edges.
import { hostname } from "node:os";
import { errorMessage, SkystreamError } from "@skystream/common";
import type { EdgeSpec, NodeSpec } from "../../../graph/graph.js";
import type { TopologyProbe, TopologyProbeDeps } from "../types.js";
import { KubeClient } from "./client.js";
import type { K8sConfig } from "./config.js";
import { hostEdges } from "./hostlink.js";
import { resolveEndpoint } from "./kubeconfig.js";
import { k8sEdges } from "./links.js";
import { containerNodeId, objectNodeId } from "./ids.js";
import { clusterNode, containerNodes, MANAGER, objectNode, type MapOptions } from "./mapping.js";
import { k8sMetrics } from "./metrics.js";
import type { KObject } from "./objects.js";
import { Reflector } from "./reflector.js";
import { NODE_ONLY_RESOURCES, RESOURCES, type ResourceName } from "./resources.js";

export class K8sProbe implements TopologyProbe {
  readonly id: string;
  private client?: KubeClient;
  private readonly reflectors: Reflector[] = [];
  private opts!: MapOptions;
  private nodeName = "";
  private timer?: NodeJS.Timeout;
  private hostTimer?: NodeJS.Timeout;
  private stopped = false;
  /** Set while this probe writes to the graph, so its own changes do not wake the host linker. */
  private writing = false;
  private unsubscribe?: () => void;
  /** Nodes in the graph, with the resourceVersion of the object they were made from. */
  private readonly shown = new Map<string, string>();
  private readonly shownNext = new Map<string, string>();

  constructor(
    private readonly cfg: K8sConfig,
    private readonly deps: TopologyProbeDeps,
  ) {
    this.id = deps.id;
  }

  async start(): Promise<void> {
    const ep = resolveEndpoint(this.cfg);
    this.opts = { cluster: this.cfg.cluster_name || ep.clusterName || "cluster", extra: this.cfg.extra };
    this.nodeName = this.cfg.node_name || hostname();
    this.client = new KubeClient(ep);
    const metrics = k8sMetrics(this.deps.metrics);
    const kinds = this.cfg.resources.filter((r) => !this.cfg.node_only || NODE_ONLY_RESOURCES.includes(r));
    for (const kind of kinds) {
      this.reflectors.push(
        new Reflector({
          name: kind,
          path: RESOURCES[kind].path,
          query: this.query(kind),
          timeoutSeconds: Math.round(this.cfg.watch_timeout / 1000),
          client: this.client,
          log: this.deps.log,
          metrics,
          probe: this.id,
          onChange: () => this.schedule(),
        }),
      );
    }
    const errors = await Promise.all(this.reflectors.map((r) => r.start()));
    const failed = this.reflectors.filter((_, i) => errors[i]);
    if (failed.length === this.reflectors.length && failed.length > 0) {
      await this.stop();
      const first = errors.find(Boolean);
      throw new SkystreamError("SKY_ERR_K8S_API", `Kubernetes API at ${ep.server.origin} (${ep.source}) answers no list: ${errorMessage(first)}`, {
        cause: first,
      });
    }
    for (const [i, r] of this.reflectors.entries())
      if (errors[i])
        this.deps.log.warn({ probe: this.id, resource: r.name, err: errorMessage(errors[i]) }, "Kubernetes kind not listed yet: retrying in the background");
    this.flush();
    if (this.cfg.link_host) this.unsubscribe = this.deps.graph.onChange((c) => this.onGraphChange(c.node?.Type, c.node?.Metadata, c.edge?.RelationType));
    this.deps.log.info(
      {
        probe: this.id,
        api: ep.server.origin,
        source: ep.source,
        cluster: this.opts.cluster,
        node: this.nodeName,
        nodeOnly: this.cfg.node_only,
        kinds: kinds.length,
        objects: this.reflectors.reduce((n, r) => n + r.store.size, 0),
      },
      "k8s probe started",
    );
  }

  /** node_only: the API filters pods by node and the node list down to this node. */
  private query(kind: ResourceName): Record<string, string | undefined> {
    if (!this.cfg.node_only) return {};
    if (kind === "pod") return { fieldSelector: `spec.nodeName=${this.nodeName}` };
    if (kind === "node") return { fieldSelector: `metadata.name=${this.nodeName}` };
    return {};
  }

  private schedule(): void {
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, this.cfg.debounce);
  }

  private objects(): Map<ResourceName, KObject[]> {
    return new Map(this.reflectors.map((r) => [r.name, [...r.store.values()]]));
  }

  /** Puts the current objects in the graph: new and changed nodes, all edges, then removes what is gone. */
  private flush(): void {
    if (this.stopped) return;
    const objs = this.objects();
    const withCluster = !this.cfg.node_only;
    const keep = new Set<string>();
    const changed: NodeSpec[] = [];
    if (withCluster) changed.push(clusterNode(this.opts));
    for (const [kind, list] of objs) {
      for (const o of list) {
        const rv = o.metadata.resourceVersion ?? "";
        const id = objectNodeId(this.opts.cluster, o.metadata.uid);
        const containers =
          kind === "pod"
            ? ((o.spec?.containers as { name: string }[] | undefined) ?? []).map((c) => containerNodeId(this.opts.cluster, o.metadata.uid, c.name))
            : [];
        // An object whose resourceVersion did not move is already shown as it is.
        if (rv && this.shown.get(id) === rv) {
          keep.add(id);
          for (const c of containers) keep.add(c);
          continue;
        }
        changed.push(objectNode(kind, o, this.opts));
        if (kind === "pod") changed.push(...containerNodes(o, this.opts));
        this.shownNext.set(id, rv);
        for (const c of containers) this.shownNext.set(c, rv);
      }
    }
    const edges: EdgeSpec[] = k8sEdges(objs, this.opts.cluster, withCluster);
    this.writing = true;
    try {
      const g = this.deps.graph;
      for (const n of changed) {
        g.upsertNode(n);
        keep.add(n.ID);
      }
      g.sync(`${this.id}/edges`, [], edges);
      for (const id of [...this.shown.keys()]) {
        if (keep.has(id)) continue;
        g.deleteNode(id);
        this.shown.delete(id);
      }
      for (const [id, rv] of this.shownNext) this.shown.set(id, rv);
      this.shownNext.clear();
    } finally {
      this.writing = false;
    }
    this.syncHost();
  }

  private syncHost(): void {
    if (!this.cfg.link_host || this.stopped) return;
    const objs = this.objects();
    const edges = hostEdges(this.deps.graph, objs.get("pod") ?? [], objs.get("node") ?? [], {
      cluster: this.opts.cluster,
      hostId: this.deps.hostId,
      nodeName: this.nodeName,
    });
    this.writing = true;
    try {
      this.deps.graph.sync(`${this.id}/host`, [], edges);
    } finally {
      this.writing = false;
    }
  }

  /** Another probe changed a namespace, an interface's addresses, a container or an ownership: re-link soon. */
  private onGraphChange(type: string | undefined, md: Record<string, unknown> | undefined, relation: string | undefined): void {
    if (this.writing || this.stopped || this.hostTimer) return;
    const relevant =
      relation === "ownership" ||
      type === "netns" ||
      type === "container" ||
      type === "host" ||
      (md && md.Manager !== MANAGER && ("IPV4" in md || "IPV6" in md));
    if (!relevant) return;
    this.hostTimer = setTimeout(() => {
      this.hostTimer = undefined;
      this.syncHost();
    }, this.cfg.debounce);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.hostTimer);
    this.unsubscribe?.();
    await Promise.all(this.reflectors.map((r) => r.stop()));
    this.client?.close();
  }
}
