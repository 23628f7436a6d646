// What the graph holds for one network namespace, computed from `ip` output alone (no I/O here):
// an interface node per link, owned by the host (root namespace) or the netns node, and layer2 edges
// from a bridge to its ports. Veth pairs can cross namespaces, so they are joined over all of them.
import { edgeId, hostNodeId, interfaceNodeId } from "../../../graph/ids.js";
import type { EdgeSpec, NodeSpec } from "../../../graph/graph.js";
import { ROOT_NS, type FdbEntry, type IpLink, type IpNeigh, type IpRoute } from "./ip.js";

export interface NamespaceLinks {
  /** Namespace key ("" for the host's own). */
  ns: string;
  /** Name and path of the netns node (named: its name; anonymous: net:[INODE]). */
  name?: string;
  path?: string;
  /** Graph id of the node owning the interfaces (host or netns). */
  ownerId: string;
  links: IpLink[];
  routes?: IpRoute[];
  neighbours?: IpNeigh[];
  fdb?: FdbEntry[];
}

/** Skydive's RoutingTables of one interface: routes leaving through it, grouped by table ("local" left out). */
export function routingTables(l: IpLink, routes: IpRoute[]): { ID: string; Routes: Record<string, unknown>[] }[] {
  const tables = new Map<string, Record<string, unknown>[]>();
  for (const r of routes) {
    const table = r.table ?? "main";
    if (table === "local") continue;
    const hops = r.nexthops ?? [{ gateway: r.gateway, dev: r.dev }];
    const mine = hops.filter((h) => h.dev === l.ifname);
    if (mine.length === 0) continue;
    let list = tables.get(table);
    if (!list) tables.set(table, (list = []));
    list.push({
      Protocol: r.protocol ?? "",
      Prefix: r.dst === "default" ? ((r.gateway ?? r.nexthops?.[0]?.gateway ?? "").includes(":") ? "::/0" : "0.0.0.0/0") : r.dst,
      NextHops: mine.map((h) => ({ IfIndex: l.ifindex, ...(h.gateway ? { IP: h.gateway } : {}), Priority: r.metric ?? 0 })),
    });
  }
  return [...tables].map(([ID, Routes]) => ({ ID, Routes }));
}

/** Skydive's node Type of a link: the kernel link kind, "device" for plain hardware/loopback. */
export function linkType(l: IpLink): string {
  const kind = l.linkinfo?.info_kind;
  if (kind) return kind === "tun" ? "tun" : kind;
  return "device";
}

export const linkNodeId = (nl: NamespaceLinks, l: IpLink) => interfaceNodeId(nl.ownerId, l.ifname, linkType(l));

function cidrs(l: IpLink, family: "inet" | "inet6"): string[] {
  return (l.addr_info ?? []).filter((a) => a.family === family).map((a) => `${a.local}/${a.prefixlen}`);
}

export function interfaceMetadata(l: IpLink): Record<string, unknown> {
  const up = l.flags.includes("UP") && l.operstate !== "DOWN" && l.operstate !== "LOWERLAYERDOWN";
  const m: Record<string, unknown> = {
    IfIndex: l.ifindex,
    MTU: l.mtu,
    State: up ? "UP" : "DOWN",
    LinkFlags: l.flags,
    EncapType: l.link_type ?? "",
    IPV4: cidrs(l, "inet"),
    IPV6: cidrs(l, "inet6"),
  };
  if (l.address && l.link_type === "ether") m.MAC = l.address;
  if (l.operstate) m.OperState = l.operstate;
  if (l.linkinfo?.info_kind === "veth" && l.link_index) m.PeerIfIndex = l.link_index;
  else if (l.link_index) m.ParentIndex = l.link_index;
  if (l.linkinfo?.info_kind === "vxlan") {
    const d = l.linkinfo.info_data ?? {};
    m.Vxlan = { VNI: d.id, Port: d.port, Local: d.local ?? d.local6, Remote: d.remote ?? d.group ?? d.remote6 };
  }
  if (l.linkinfo?.info_kind === "bridge") {
    const d = l.linkinfo.info_data ?? {};
    m.Bridge = { StpState: d.stp_state, VlanFiltering: d.vlan_filtering, BridgeID: d.bridge_id };
  }
  if (l.linkinfo?.info_slave_kind === "bridge") m.BridgePort = { State: l.linkinfo.info_slave_data?.state };
  return m;
}

export function namespaceView(nl: NamespaceLinks, hostId: string): { nodes: NodeSpec[]; edges: EdgeSpec[] } {
  const nodes: NodeSpec[] = [];
  const edges: EdgeSpec[] = [];
  if (nl.ns !== ROOT_NS) {
    nodes.push({ ID: nl.ownerId, Type: "netns", Name: nl.name ?? nl.ns, Metadata: { TID: nl.ownerId, Path: nl.path ?? `/run/netns/${nl.ns}` } });
  }
  const byName = new Map(nl.links.map((l) => [l.ifname, l]));
  for (const l of nl.links) {
    const id = linkNodeId(nl, l);
    const metadata: Record<string, unknown> = { TID: id, ...interfaceMetadata(l) };
    const tables = routingTables(l, nl.routes ?? []);
    if (tables.length) metadata.RoutingTables = tables;
    const neigh = (nl.neighbours ?? []).filter((x) => x.dev === l.ifname);
    if (neigh.length) metadata.Neighbors = neigh.map((x) => ({ IP: x.dst, MAC: x.lladdr ?? "", State: x.state ?? [], IfIndex: l.ifindex }));
    const fdb = (nl.fdb ?? []).filter((x) => x.ifname === l.ifname);
    if (fdb.length) metadata.FDB = fdb.map((x) => ({ MAC: x.mac, Vlan: x.vlan ?? 0, State: x.state ?? "", Flags: x.flags ?? [] }));
    nodes.push({ ID: id, Type: linkType(l), Name: l.ifname, Metadata: metadata });
    edges.push({ ID: edgeId(nl.ownerId, id, "ownership"), Parent: nl.ownerId, Child: id, RelationType: "ownership" });
    const master = l.master ? byName.get(l.master) : undefined;
    if (master) {
      const mid = linkNodeId(nl, master);
      edges.push({ ID: edgeId(mid, id, "layer2"), Parent: mid, Child: id, RelationType: "layer2" });
    }
    // A vxlan/macvlan on top of another link of the same namespace (vxlan names it in info_data.link).
    const parentName = l.linkinfo?.info_kind === "veth" || l.link_netnsid !== undefined ? undefined : (l.link ?? l.linkinfo?.info_data?.link);
    if (typeof parentName === "string") {
      const parent = byName.get(parentName);
      if (parent) {
        const pid = linkNodeId(nl, parent);
        edges.push({ ID: edgeId(pid, id, "layer2"), Parent: pid, Child: id, RelationType: "layer2", Metadata: { Type: l.linkinfo?.info_kind ?? "" } });
      }
    }
  }
  if (nl.ns !== ROOT_NS) {
    const hostNode = hostNodeId(hostId);
    edges.push({ ID: edgeId(hostNode, nl.ownerId, "ownership"), Parent: hostNode, Child: nl.ownerId, RelationType: "ownership" });
  }
  return { nodes, edges };
}

/**
 * layer2 edges between veth peers anywhere on the host: a veth's peer is the veth whose ifindex is its
 * link_index and whose link_index is its ifindex (checked both ways, since ifindexes repeat across namespaces).
 */
export function vethEdges(all: NamespaceLinks[]): EdgeSpec[] {
  const veths = all.flatMap((nl) => nl.links.filter((l) => l.linkinfo?.info_kind === "veth" && l.link_index).map((l) => ({ nl, l })));
  const edges: EdgeSpec[] = [];
  const seen = new Set<string>();
  for (const a of veths) {
    const candidates = veths.filter((b) => b !== a && b.l.ifindex === a.l.link_index && b.l.link_index === a.l.ifindex);
    // Same namespace when the kernel gives no link_netnsid.
    const peer = a.l.link_netnsid === undefined ? candidates.find((b) => b.nl.ns === a.nl.ns) : (candidates.find((b) => b.nl.ns !== a.nl.ns) ?? candidates[0]);
    if (!peer) continue;
    const [x, y] = [linkNodeId(a.nl, a.l), linkNodeId(peer.nl, peer.l)].sort();
    const id = edgeId(x!, y!, "layer2");
    if (seen.has(id)) continue;
    seen.add(id);
    edges.push({ ID: id, Parent: x!, Child: y!, RelationType: "layer2", Metadata: { Type: "veth" } });
  }
  return edges;
}
