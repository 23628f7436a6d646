// Where this host's pods meet the rest of its graph (what the netlink and docker probes put there):
//   host -> k8s node of the same name                {RelationType: node, Manager: k8s}     (Skydive's host linker)
//   k8s container -> runtime container, same id      {RelationType: container, Manager: k8s} (Skydive's docker linker)
//   pod -> netns, pod -> interface holding its IP    {RelationType: pod, Manager: k8s}
// Skydive reached a pod's namespace only through the runtime container (pod -> container -> docker
// container <- netns); containerd and CRI-O pods have no such container node here, so the pod is also
// joined to the namespace whose interface carries the pod's IP (and to that interface, the pod's end
// of its veth). Host-network pods share the host's addresses and are not joined. Pure: reads the graph.
import type { EdgeSpec, Graph } from "../../../graph/graph.js";
import { hostNodeId } from "../../../graph/ids.js";
import { containerNodeId, k8sEdgeId, objectNodeId } from "./ids.js";
import { MANAGER } from "./mapping.js";
import type { KObject } from "./objects.js";

export interface HostLinkOptions {
  cluster: string;
  hostId: string;
  nodeName: string;
}

/** Addresses as the netlink probe writes them (CIDR) reduced to the bare address, IPv6 in lower case. */
const bare = (cidr: string) => cidr.replace(/\/\d+$/, "").toLowerCase();

/** The IPs of a pod scheduled here that has its own network namespace. */
export function podIPs(p: KObject, nodeName: string): string[] {
  if (p.spec?.nodeName !== nodeName || p.spec?.hostNetwork) return [];
  const ips = new Set<string>();
  if (p.status?.podIP) ips.add(String(p.status.podIP).toLowerCase());
  for (const x of (p.status?.podIPs as { ip: string }[] | undefined) ?? []) ips.add(x.ip.toLowerCase());
  return [...ips];
}

export function hostEdges(graph: Graph, pods: readonly KObject[], k8sNodes: readonly KObject[], o: HostLinkOptions): EdgeSpec[] {
  const edges: EdgeSpec[] = [];
  const link = (relation: string, parent: string, child: string) =>
    edges.push({ ID: k8sEdgeId(parent, child, relation), Parent: parent, Child: child, RelationType: relation, Metadata: { Manager: MANAGER } });

  const host = hostNodeId(o.hostId);
  const me = k8sNodes.find((n) => n.metadata.name === o.nodeName);
  if (me && graph.nodes.has(host)) link("node", host, objectNodeId(o.cluster, me.metadata.uid));

  const local = pods.filter((p) => p.spec?.nodeName === o.nodeName);
  if (local.length === 0) return edges;

  // One pass over the graph: interfaces by address, owners by child, runtime containers by id.
  const byAddress = new Map<string, string[]>();
  const runtime = new Map<string, string>();
  for (const n of graph.nodes.values()) {
    if (n.Metadata.Manager === MANAGER) continue;
    for (const k of ["IPV4", "IPV6"] as const) {
      const l = n.Metadata[k];
      if (!Array.isArray(l)) continue;
      for (const c of l) if (typeof c === "string") byAddress.set(bare(c), [...(byAddress.get(bare(c)) ?? []), n.ID]);
    }
    const cid = (n.Metadata.Container as { ID?: unknown } | undefined)?.ID;
    if (n.Type === "container" && typeof cid === "string") runtime.set(cid, n.ID);
  }
  const owner = new Map<string, string>();
  for (const e of graph.edges.values()) if (e.RelationType === "ownership") owner.set(e.Child, e.Parent);

  for (const p of local) {
    const pid = objectNodeId(o.cluster, p.metadata.uid);
    const seen = new Set<string>();
    for (const ip of podIPs(p, o.nodeName)) {
      for (const ifId of byAddress.get(ip) ?? []) {
        const ns = owner.get(ifId);
        if (!ns || graph.nodes.get(ns)?.Type !== "netns") continue;
        if (!seen.has(ns)) link("pod", pid, ns);
        seen.add(ns);
        link("pod", pid, ifId);
      }
    }
    for (const s of (p.status?.containerStatuses as { name: string; containerID?: string }[] | undefined) ?? []) {
      const id = s.containerID?.split("://", 2)[1];
      const rt = id ? runtime.get(id) : undefined;
      if (rt) link("container", containerNodeId(o.cluster, p.metadata.uid, s.name), rt);
    }
  }
  return edges;
}
