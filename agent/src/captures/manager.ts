// Captures on demand, agent side. Capture resources arrive from the control topic; the manager keeps the
// set of live ones (not deleted, TTL not over) and, whenever the graph or that set changes, makes the
// running captures match: one capture per (capture, node of this agent's graph the selection matches).
// Each capture is a flow probe instance: pcap/afpacket (live capture in the node's namespace), sflow (a
// collector for an exporter the user points at it), ovssflow (OVS configured to export to a collector
// of ours). The capture's state is put on the node as Skydive did: Metadata.Captures = [{ID, State, ...}].
import { errorMessage, type Logger, type MetricsRegistry } from "@skystream/common";
import type { Capture, ControlMessage } from "@skystream/schemas";
import type { FlowTableConfig } from "../flow/config.js";
import type { Graph, GraphNode } from "../graph/graph.js";
import { locateInterface } from "../graph/lookup.js";
import { captureConfig } from "../probes/flow/pcap/config.js";
import { CaptureProbe } from "../probes/flow/pcap/probe.js";
import { sflowConfig } from "../probes/flow/sflow/config.js";
import { SflowProbe } from "../probes/flow/sflow/probe.js";
import type { FlowEmitter, FlowProbe, FlowProbeDeps } from "../probes/flow/types.js";
import { disableBridgeSflow, enableBridgeSflow } from "./ovs-sflow.js";
import { matches, parseSelection, type Selection } from "./selection.js";

export interface CapturesSettings {
  /** Address the agent's sFlow collectors for sflow/ovssflow captures bind to. */
  sflow_address: string;
  /** OVSDB server for ovssflow captures. */
  ovsdb: string;
}

export interface CaptureManagerDeps {
  hostId: string;
  graph: Graph;
  log: Logger;
  metrics: MetricsRegistry;
  table: FlowTableConfig;
  settings: CapturesSettings;
  deadLetter?: FlowProbeDeps["deadLetter"];
}

/** Node types a live capture can open (Skydive's list for afpacket/pcap). */
const INTERFACE_TYPES = new Set(
  "device veth tun tap bridge dummy gre bond can hsr ifb macvlan macvtap vlan vxlan gretap ip6gretap geneve ipoib vcan ipip ipvlan lowpan ip6tnl ip6gre sit internal openvswitch".split(
    " ",
  ),
);

interface Wanted {
  capture: Capture;
  node: GraphNode;
  type: string;
}

interface Running {
  captureId: string;
  nodeId: string;
  type: string;
  probe?: FlowProbe;
  state: "starting" | "active" | "error";
  error?: string;
  /** Undoes what starting did outside the probe (the OVS sFlow export). */
  undo?: () => Promise<void>;
}

export class CaptureManager {
  private readonly captures = new Map<string, { capture: Capture; selection?: Selection; error?: string }>();
  private readonly running = new Map<string, Running>();
  private reconciling: Promise<void> = Promise.resolve();
  private pending?: NodeJS.Timeout;
  private timer?: NodeJS.Timeout;
  private unsubscribe?: () => void;
  private emit?: FlowEmitter;
  private stopped = false;
  /** Nodes that carry Captures metadata from us. */
  private decorated = new Set<string>();

  constructor(private readonly deps: CaptureManagerDeps) {}

  start(emit: FlowEmitter): void {
    this.emit = emit;
    // Any change may add or remove a match (our own decorations settle: an unchanged one is no change).
    this.unsubscribe = this.deps.graph.onChange(() => this.schedule());
    this.timer = setInterval(() => {
      if ([...this.captures.values()].some((c) => expired(c.capture, Date.now()))) this.schedule();
    }, 1000);
  }

  /** One order from the control topic (those that are not about captures are another's). */
  apply(msg: ControlMessage): void {
    const c = msg.Capture;
    if (!c || (msg.Op !== "CAPTURE_SET" && msg.Op !== "CAPTURE_DELETE")) return;
    if (msg.Op === "CAPTURE_DELETE") this.captures.delete(c.UUID);
    else {
      let selection: Selection | undefined;
      let error: string | undefined;
      try {
        selection = parseSelection(c.GremlinQuery);
      } catch (err) {
        error = errorMessage(err);
        this.deps.log.error({ capture: c.UUID, query: c.GremlinQuery, err: error }, "capture refused: its node selection cannot be read");
      }
      // A changed capture restarts where it runs.
      for (const [key, r] of this.running) if (r.captureId === c.UUID) void this.stopOne(key, r);
      this.captures.set(c.UUID, { capture: c, selection, error });
    }
    this.schedule();
  }

  /** Captures currently known, with the nodes they run on (for tests and the CLI). */
  get active(): { capture: Capture; nodes: { id: string; state: string; error?: string }[] }[] {
    return [...this.captures.values()].map(({ capture }) => ({
      capture,
      nodes: [...this.running.values()].filter((r) => r.captureId === capture.UUID).map((r) => ({ id: r.nodeId, state: r.state, error: r.error })),
    }));
  }

  private schedule(): void {
    if (this.stopped || this.pending) return;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.reconciling = this.reconciling
        .then(() => this.reconcile())
        .catch((err) => this.deps.log.error({ err: errorMessage(err) }, "capture reconcile failed"));
    }, 100);
  }

  /** Resolves when the captures match the graph and the capture set (tests). */
  async settled(): Promise<void> {
    while (this.pending) await new Promise((r) => setTimeout(r, 50));
    await this.reconciling;
  }

  private wanted(now: number): Map<string, Wanted> {
    const want = new Map<string, Wanted>();
    for (const { capture, selection } of this.captures.values()) {
      if (!selection || expired(capture, now)) continue;
      for (const node of this.deps.graph.nodes.values()) {
        if (!matches(selection, node)) continue;
        const type = captureType(capture, node);
        if (type) want.set(`${capture.UUID}/${node.ID}`, { capture, node, type });
      }
    }
    return want;
  }

  private async reconcile(): Promise<void> {
    if (this.stopped) return;
    const want = this.wanted(Date.now());
    for (const [key, r] of this.running) if (!want.has(key)) await this.stopOne(key, r);
    for (const [key, w] of want) if (!this.running.has(key)) await this.startOne(key, w);
    this.decorate();
  }

  private async startOne(key: string, w: Wanted): Promise<void> {
    const { capture: c, node } = w;
    const r: Running = { captureId: c.UUID, nodeId: node.ID, type: w.type, state: "starting" };
    this.running.set(key, r);
    const nodeTID = String(node.Metadata.TID ?? node.ID);
    const table: FlowTableConfig = { ...this.deps.table };
    if (c.LayerKeyMode === "L2" || c.LayerKeyMode === "L3") table.layer_key_mode = c.LayerKeyMode;
    if (c.ExtraTCPMetric) table.extra_tcp_metric = true;
    const probeDeps: FlowProbeDeps = { ...this.deps, id: `capture/${c.UUID}/${node.Name}`, table };
    try {
      if (w.type === "pcap" || w.type === "afpacket") {
        const cfg = captureConfig.parse({
          interface: node.Name,
          netns: locateInterface(this.deps.graph, node).netns ?? "",
          filter: c.BPFFilter ?? "",
          snaplen: c.HeaderSize || 256,
          capture_id: c.UUID,
          node_tid: nodeTID,
        });
        r.probe = new CaptureProbe(cfg, probeDeps, w.type);
        await r.probe.start(this.emit!);
      } else {
        const probe = new SflowProbe(
          sflowConfig.parse({ listen: `${this.deps.settings.sflow_address}:${c.Port ?? 0}`, capture_id: c.UUID, node_tid: nodeTID }),
          probeDeps,
        );
        r.probe = probe;
        await probe.start(this.emit!);
        if (w.type === "ovssflow") {
          const bridge = String(node.Metadata.UUID ?? "");
          if (!bridge) throw new Error("the OVS bridge node has no OVSDB UUID");
          const { ovsdb } = this.deps.settings;
          await enableBridgeSflow(ovsdb, bridge, {
            captureId: c.UUID,
            target: c.Target || probe.address,
            sampling: c.SamplingRate ?? 1,
            polling: c.PollingInterval ?? 10,
            header: c.HeaderSize || 128,
          });
          r.undo = () => disableBridgeSflow(ovsdb, bridge);
        }
      }
      r.state = "active";
      this.deps.log.info({ capture: c.UUID, node: node.Name, type: w.type }, "capture started");
    } catch (err) {
      r.state = "error";
      r.error = errorMessage(err);
      this.deps.log.error({ capture: c.UUID, node: node.Name, type: w.type, err: r.error }, "capture could not start");
      await r.probe?.stop().catch(() => undefined);
      r.probe = undefined;
    }
  }

  private async stopOne(key: string, r: Running): Promise<void> {
    this.running.delete(key);
    try {
      await r.undo?.();
    } catch (err) {
      this.deps.log.error({ capture: r.captureId, err: errorMessage(err) }, "could not undo the OVS sFlow export");
    }
    await r.probe?.stop().catch((err) => this.deps.log.error({ capture: r.captureId, err: errorMessage(err) }, "capture stop failed"));
    this.deps.log.info({ capture: r.captureId, node: r.nodeId }, "capture stopped");
  }

  /** Puts each node's captures on it (Metadata.Captures), and takes them off nodes that have none left. */
  private decorate(): void {
    const byNode = new Map<string, Record<string, unknown>[]>();
    for (const r of this.running.values()) {
      const c = this.captures.get(r.captureId)?.capture;
      if (!c) continue;
      const list = byNode.get(r.nodeId) ?? [];
      list.push({
        ID: c.UUID,
        State: r.state,
        Type: r.type,
        Name: c.Name ?? "",
        Description: c.Description ?? "",
        BPFFilter: c.BPFFilter ?? "",
        ...(r.error ? { Error: r.error } : {}),
        ...(r.probe instanceof SflowProbe ? { SFlowSocket: r.probe.address } : {}),
      });
      byNode.set(r.nodeId, list);
    }
    for (const id of this.decorated) if (!byNode.has(id)) this.deps.graph.decorate("captures", id, undefined);
    for (const [id, list] of byNode) this.deps.graph.decorate("captures", id, { Captures: list });
    this.decorated = new Set(byNode.keys());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.timer) clearInterval(this.timer);
    if (this.pending) clearTimeout(this.pending);
    await this.reconciling;
    for (const [key, r] of [...this.running]) await this.stopOne(key, r);
    this.decorate();
  }
}

const expired = (c: Capture, now: number) => (c.TTL ?? 0) > 0 && now >= c.CreatedAt + (c.TTL ?? 0);

/** The capture type to run on a node, or undefined when the node cannot take this capture. */
function captureType(c: Capture, node: GraphNode): string | undefined {
  const bridge = node.Type === "ovsbridge";
  const type = c.Type || (bridge ? "ovssflow" : "afpacket");
  if (type === "ovssflow") return bridge ? type : undefined;
  if (type === "pcap" || type === "afpacket" || type === "sflow") return !bridge && INTERFACE_TYPES.has(node.Type) ? type : undefined;
  return undefined;
}
