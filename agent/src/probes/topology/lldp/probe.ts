// Probe "lldp": LLDP neighbours learnt by lldpd, as Skydive showed them: a "switch" node per chassis,
// a "switchport" node per port (owned by and layer2 to its switch), and a layer2 edge from the port to
// the local interface it was seen on.
import { errorMessage, every, type Periodic } from "@skystream/common";
import { edgeId, hostNodeId, netnsNodeId, uuidv5 } from "../../../graph/ids.js";
import type { EdgeSpec, NodeSpec } from "../../../graph/graph.js";
import type { TopologyProbe, TopologyProbeDeps } from "../types.js";
import type { LldpConfig } from "./config.js";
import { neighbors, type LldpNeighbor } from "./lldpcli.js";

export class LldpProbe implements TopologyProbe {
  readonly id: string;
  private poll?: Periodic;
  private failing = new Set<string>();

  constructor(
    private readonly cfg: LldpConfig,
    private readonly deps: TopologyProbeDeps,
  ) {
    this.id = deps.id;
  }

  async start(): Promise<void> {
    const results = await Promise.allSettled(this.cfg.instances.map((i) => neighbors(i.socket)));
    if (results.every((r) => r.status === "rejected")) {
      throw new Error(
        `no lldpd answers on ${this.cfg.instances.map((i) => i.socket).join(", ")}: ${errorMessage((results[0] as PromiseRejectedResult).reason)}`,
      );
    }
    await this.tick();
    this.poll = every(this.cfg.interval, () => this.tick());
  }

  /** The interface node named `ifname` in a namespace (owned by the host or the netns node). */
  private localInterface(netns: string, ifname: string): string | undefined {
    const owner = netns ? netnsNodeId(this.deps.hostId, netns) : hostNodeId(this.deps.hostId);
    const g = this.deps.graph;
    for (const e of g.edges.values()) {
      if (e.Parent === owner && e.RelationType === "ownership" && g.nodes.get(e.Child)?.Name === ifname) return e.Child;
    }
    return undefined;
  }

  private async tick(): Promise<void> {
    const nodes = new Map<string, NodeSpec>();
    const edges: EdgeSpec[] = [];
    for (const inst of this.cfg.instances) {
      let found: LldpNeighbor[];
      try {
        found = await neighbors(inst.socket);
        this.failing.delete(inst.socket);
      } catch (err) {
        if (!this.failing.has(inst.socket)) this.deps.log.warn({ probe: this.id, socket: inst.socket, err: errorMessage(err) }, "lldpd does not answer");
        this.failing.add(inst.socket);
        continue;
      }
      for (const n of found) {
        const sw = uuidv5("lldp-chassis", n.chassisIdType, n.chassisId);
        const port = uuidv5("lldp-port", sw, n.portIdType, n.portId);
        nodes.set(sw, {
          ID: sw,
          Type: "switch",
          Name: n.sysName || n.chassisId,
          Metadata: {
            LLDP: {
              ChassisID: n.chassisId,
              ChassisIDType: n.chassisIdType,
              SysName: n.sysName,
              Description: n.description,
              MgmtAddress: n.mgmtAddresses,
              Capabilities: n.capabilities,
            },
          },
        });
        nodes.set(port, {
          ID: port,
          Type: "switchport",
          Name: n.portDescription || n.portId,
          Metadata: { LLDP: { PortID: n.portId, PortIDType: n.portIdType, Description: n.portDescription, TTL: n.ttl } },
        });
        edges.push({ ID: edgeId(sw, port, "ownership"), Parent: sw, Child: port, RelationType: "ownership" });
        edges.push({ ID: edgeId(sw, port, "layer2"), Parent: sw, Child: port, RelationType: "layer2" });
        const local = this.localInterface(inst.netns, n.ifname);
        if (local) edges.push({ ID: edgeId(port, local, "layer2"), Parent: port, Child: local, RelationType: "layer2", Metadata: { Type: "lldp" } });
      }
    }
    this.deps.graph.sync(this.id, [...nodes.values()], edges);
  }

  async stop(): Promise<void> {
    await this.poll?.stop();
  }
}
