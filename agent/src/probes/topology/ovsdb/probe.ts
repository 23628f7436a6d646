// Probe "ovsdb": Open vSwitch bridges, ports and interfaces from ovsdb-server through a JSON-RPC
// monitor, live. A port's system interface (a veth, a tap) is the node netlink already has: the port
// links to it and adds its OVS details; interfaces the kernel does not show (patch, tunnels) get nodes
// of their own, typed by OVS type. Patch peers are joined by a layer2 edge.
import { errorMessage } from "@skystream/common";
import { edgeId, hostNodeId, uuidv5 } from "../../../graph/ids.js";
import type { EdgeSpec, NodeSpec } from "../../../graph/graph.js";
import type { TopologyProbe, TopologyProbeDeps } from "../types.js";
import type { OvsdbConfig } from "./config.js";
import { OvsdbClient, ovsList, ovsValue, type Updates } from "./jsonrpc.js";

type Row = Record<string, unknown>;
const TABLES = {
  Open_vSwitch: ["ovs_version", "db_version", "external_ids"],
  Bridge: ["name", "ports", "datapath_type", "external_ids", "other_config", "protocols"],
  Port: ["name", "interfaces", "tag", "trunks", "external_ids", "bond_mode", "lacp"],
  Interface: ["name", "type", "ofport", "ifindex", "mac_in_use", "options", "external_ids", "error", "link_state", "admin_state"],
} as const;

export class OvsdbProbe implements TopologyProbe {
  readonly id: string;
  private client?: OvsdbClient;
  private readonly tables = new Map<string, Map<string, Row>>(Object.keys(TABLES).map((t) => [t, new Map()]));
  private stopped = false;
  private retry?: NodeJS.Timeout;
  private decorated = new Set<string>();
  private unsubscribe?: () => void;
  private rebuildTimer?: NodeJS.Timeout;

  constructor(
    private readonly cfg: OvsdbConfig,
    private readonly deps: TopologyProbeDeps,
  ) {
    this.id = deps.id;
  }

  async start(): Promise<void> {
    // A kernel interface that appears (or goes) after OVS reported its port changes how the port links.
    this.unsubscribe = this.deps.graph.onChange((c) => {
      if (!c.node || c.op === "UPDATE" || c.node.Type === "ovsport" || c.node.Type === "ovsbridge") return;
      const names = new Set([...this.tables.get("Interface")!.values()].map((i) => String(ovsValue(i.name))));
      if (names.has(c.node.Name)) this.rebuildTimer ??= setTimeout(() => ((this.rebuildTimer = undefined), this.rebuild()), 20);
    });
    try {
      await this.connect();
    } catch (err) {
      throw new Error(`cannot reach ovsdb-server at ${this.cfg.address}: ${errorMessage(err)} (is Open vSwitch running?)`);
    }
  }

  private async connect(): Promise<void> {
    const client = new OvsdbClient(this.cfg.address);
    await client.connect();
    this.client = client;
    client.onUpdate = (u) => this.apply(u);
    client.onClose = () => {
      if (this.stopped) return;
      this.deps.log.warn({ probe: this.id, address: this.cfg.address }, "ovsdb connection lost; reconnecting");
      this.scheduleReconnect();
    };
    const monitor = Object.fromEntries(Object.entries(TABLES).map(([t, columns]) => [t, { columns }]));
    for (const t of this.tables.values()) t.clear();
    this.apply(await client.call<Updates>("monitor", ["Open_vSwitch", null, monitor]));
    this.deps.log.info({ probe: this.id, bridges: this.tables.get("Bridge")!.size }, "ovsdb probe following Open vSwitch");
  }

  private scheduleReconnect(): void {
    clearTimeout(this.retry);
    this.retry = setTimeout(() => {
      this.connect().catch(() => this.scheduleReconnect());
    }, 1000);
  }

  private apply(updates: Updates): void {
    for (const [table, rows] of Object.entries(updates)) {
      const t = this.tables.get(table);
      if (!t) continue;
      for (const [uuid, change] of Object.entries(rows)) {
        if (change.new) t.set(uuid, { ...(t.get(uuid) ?? {}), ...change.new });
        else t.delete(uuid);
      }
    }
    this.rebuild();
  }

  private nodeId(uuid: string): string {
    return uuidv5("ovs", this.deps.hostId, uuid);
  }

  /** The netlink node of a system interface: same name and kernel ifindex. */
  private kernelNode(name: string, ifindex: unknown): string | undefined {
    for (const n of this.deps.graph.nodes.values()) {
      if (n.Name === name && n.Type !== "ovsport" && n.Type !== "ovsbridge" && n.Metadata.IfIndex === ifindex) return n.ID;
    }
    return undefined;
  }

  private rebuild(): void {
    const nodes: NodeSpec[] = [];
    const edges: EdgeSpec[] = [];
    const decorations = new Map<string, Record<string, unknown>>();
    const ovs = [...this.tables.get("Open_vSwitch")!.values()][0] ?? {};
    const ovsInfo = { Version: ovsValue(ovs.ovs_version) ?? "", DBVersion: ovsValue(ovs.db_version) ?? "" };
    const host = hostNodeId(this.deps.hostId);
    const ports = this.tables.get("Port")!;
    const ifaces = this.tables.get("Interface")!;
    const ifaceNode = new Map<string, string>(); // interface uuid -> graph node id
    const patches: { id: string; name: string; peer: string }[] = [];

    for (const [uuid, i] of ifaces) {
      const type = String(ovsValue(i.type) ?? "") || "system";
      const name = String(ovsValue(i.name));
      const ifindex = ovsValue(i.ifindex);
      const info = {
        UUID: uuid,
        OfPort: ovsValue(i.ofport),
        Ovs: { ...ovsInfo, Type: type, Options: ovsValue(i.options), Error: ovsList(i.error)[0] ?? "", LinkState: ovsValue(i.link_state) ?? "" },
        ExtID: ovsValue(i.external_ids),
      };
      const kernel = type === "patch" ? undefined : this.kernelNode(name, Array.isArray(ifindex) ? undefined : ifindex);
      if (kernel) {
        ifaceNode.set(uuid, kernel);
        decorations.set(kernel, info);
      } else {
        const id = this.nodeId(uuid);
        ifaceNode.set(uuid, id);
        const mac = ovsList(i.mac_in_use)[0];
        nodes.push({ ID: id, Type: type === "system" ? "openvswitch" : type, Name: name, Metadata: { TID: id, ...(mac ? { MAC: mac } : {}), ...info } });
        if (type === "patch") patches.push({ id, name, peer: String((ovsValue(i.options) as Record<string, string>)?.peer ?? "") });
      }
    }
    for (const [uuid, b] of this.tables.get("Bridge")!) {
      const bid = this.nodeId(uuid);
      const name = String(ovsValue(b.name));
      nodes.push({
        ID: bid,
        Type: "ovsbridge",
        Name: name,
        Metadata: {
          TID: bid,
          UUID: uuid,
          DatapathType: ovsValue(b.datapath_type) ?? "",
          Protocols: ovsList(b.protocols),
          ExtID: ovsValue(b.external_ids),
          Ovs: { ...ovsInfo, OtherConfig: ovsValue(b.other_config) },
        },
      });
      edges.push({ ID: edgeId(host, bid, "ownership"), Parent: host, Child: bid, RelationType: "ownership" });
      for (const portUuid of ovsList(b.ports) as string[]) {
        const p = ports.get(portUuid);
        if (!p) continue;
        const pid = this.nodeId(portUuid);
        const tag = ovsList(p.tag)[0];
        nodes.push({
          ID: pid,
          Type: "ovsport",
          Name: String(ovsValue(p.name)),
          Metadata: {
            TID: pid,
            UUID: portUuid,
            ...(tag !== undefined ? { Vlans: [tag] } : {}),
            Trunks: ovsList(p.trunks),
            ExtID: ovsValue(p.external_ids),
            BondMode: ovsList(p.bond_mode)[0] ?? "",
          },
        });
        edges.push({ ID: edgeId(bid, pid, "ownership"), Parent: bid, Child: pid, RelationType: "ownership" });
        edges.push({ ID: edgeId(bid, pid, "layer2"), Parent: bid, Child: pid, RelationType: "layer2" });
        for (const ifUuid of ovsList(p.interfaces) as string[]) {
          const iid = ifaceNode.get(ifUuid);
          if (iid) edges.push({ ID: edgeId(pid, iid, "layer2"), Parent: pid, Child: iid, RelationType: "layer2" });
        }
      }
    }
    for (const p of patches) {
      const peer = patches.find((q) => q.name === p.peer && q.peer === p.name);
      if (peer && p.id < peer.id)
        edges.push({ ID: edgeId(p.id, peer.id, "layer2"), Parent: p.id, Child: peer.id, RelationType: "layer2", Metadata: { Type: "patch" } });
    }
    // Interface nodes first (sync adds nodes before edges), then our decorations of kernel nodes.
    this.deps.graph.sync(this.id, nodes, edges);
    for (const id of this.decorated) if (!decorations.has(id)) this.deps.graph.decorate(this.id, id, undefined);
    for (const [id, m] of decorations) this.deps.graph.decorate(this.id, id, m);
    this.decorated = new Set(decorations.keys());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    clearTimeout(this.rebuildTimer);
    clearTimeout(this.retry);
    this.client?.close();
  }
}
