// A synthetic Kubernetes-like topology in the API's shape (Skydive's {Nodes, Edges}), as the agent reports
// it: hosts own their root-namespace links (lo, eth0, the cni0 bridge, one veth per pod) and the pods'
// network namespaces, which own lo and eth0; each pod's eth0 is a veth whose peer is a port of cni0
// (layer2 edges bridge → port and port ↔ eth0), one pod in ten also has net1 on a br-storage bridge; hosts
// sit in racks of 16 whose top-of-rack switch has a port linked to each host's eth0 (LLDP). A few percent
// of links are DOWN. Seeded, so every run draws the same graph; IDs are UUID-like, as the agent's are.
import type { ApiEdge, ApiGraph, ApiNode } from "@skystream/views";
import { seededRandom as prng } from "../../agent/src/flow/testing/random.ts";

const RACK = 16;

export interface Synthetic {
  graph: ApiGraph;
  hosts: string[];
}

/** About `target` nodes (stops adding pods once it is reached; the last host may be smaller). */
export function syntheticTopology(target: number, seed = 42): Synthetic {
  const rnd = prng(seed);
  const hex = (n: number) => {
    let s = "";
    for (let i = 0; i < n; i++) s += ((rnd() * 16) | 0).toString(16);
    return s;
  };
  const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-${hex(4)}-${hex(12)}`;
  const nodes: ApiNode[] = [];
  const edges: ApiEdge[] = [];
  const hosts: string[] = [];
  const node = (host: string, Type: string, Name: string, down = 0.03) => {
    const ID = uuid();
    nodes.push({ ID, Host: host, Metadata: { Name, Type, State: rnd() < down ? "DOWN" : "UP" } });
    return ID;
  };
  const edge = (Parent: string, Child: string, RelationType: string) => edges.push({ ID: uuid(), Parent, Child, Metadata: { RelationType } });

  let rack: { id: string; ports: number } | undefined;
  for (let h = 0; nodes.length < target; h++) {
    if (h % RACK === 0) {
      const name = `tor-${String(h / RACK).padStart(3, "0")}`;
      rack = { id: node(name, "switch", name, 0), ports: 0 };
    }
    const name = `node-${String(h).padStart(4, "0")}`;
    const host = node(name, "host", name, 0);
    hosts.push(host);
    const own = (parent: string, Type: string, ifname: string, down?: number) => {
      const id = node(name, Type, ifname, down);
      edge(parent, id, "ownership");
      return id;
    };
    own(host, "device", "lo", 0);
    const eth0 = own(host, "device", "eth0", 0.01);
    const port = own(rack!.id, "switchport", `Ethernet1/${++rack!.ports}`, 0.01);
    edge(port, eth0, "layer2");
    const cni0 = own(host, "bridge", "cni0", 0);
    let storage: string | undefined;
    const pods = 10 + Math.floor(rnd() * 31);
    for (let p = 0; p < pods && nodes.length < target; p++) {
      const ns = own(host, "netns", `cni-${hex(8)}-${hex(4)}-${hex(4)}`, 0);
      own(ns, "device", "lo", 0);
      const pair = (ifname: string, bridge: string) => {
        const inside = own(ns, "veth", ifname);
        const outside = own(host, "veth", `veth${hex(8)}`);
        edge(bridge, outside, "layer2");
        edge(inside, outside, "layer2");
      };
      pair("eth0", cni0);
      if (rnd() < 0.1) {
        storage ??= own(host, "bridge", "br-storage", 0);
        pair("net1", storage);
      }
    }
  }
  return { graph: { Nodes: nodes, Edges: edges }, hosts };
}
