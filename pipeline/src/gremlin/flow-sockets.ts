// Flows().Sockets(): the sockets at both ends of TCP/UDP flows, from the sockets the socketinfo probe put
// on the graph's nodes (Metadata.Sockets), matched as the enricher matches them (TopologyIndex.socket and
// .listener): the flow's 5-tuple as each end sees it, else a socket listening on that end's port bound to
// its address, else one bound to the wildcard in a namespace that holds the address. Each socket comes
// with the flow's UUID and the node that holds it.
import { WILDCARD, holdsAddress, isListening } from "../graph/topology-index.js";
import type { QueryGraph } from "./graph.js";

interface Held {
  NodeID: string;
  socket: Record<string, unknown>;
}

/** Addresses as sockets and flows write them: no IPv4-mapped prefix, lower case. */
const addr = (a: unknown) =>
  String(a ?? "")
    .replace(/^::ffff:/i, "")
    .toLowerCase();
const exactKey = (proto: string, la: string, lp: unknown, ra: string, rp: unknown) => `${proto}|${la}|${Number(lp)}|${ra}|${Number(rp)}`;
const listenKey = (proto: string, lp: unknown) => `${proto}|${Number(lp)}`;

/** The graph's sockets by 5-tuple and its listeners by port. */
function socketsOf(g: QueryGraph): { exact: Map<string, Held[]>; listening: Map<string, Held[]> } {
  const exact = new Map<string, Held[]>();
  const listening = new Map<string, Held[]>();
  const push = (m: Map<string, Held[]>, k: string, h: Held) => {
    const l = m.get(k);
    if (l) l.push(h);
    else m.set(k, [h]);
  };
  for (const n of g.nodes()) {
    const sockets = n.Metadata.Sockets;
    if (!Array.isArray(sockets)) continue;
    for (const s of sockets as Record<string, unknown>[]) {
      if (!s || typeof s !== "object") continue;
      const proto = String(s.Protocol ?? "").toUpperCase();
      const h = { NodeID: n.ID, socket: s };
      push(exact, exactKey(proto, addr(s.LocalAddress), s.LocalPort, addr(s.RemoteAddress), s.RemotePort), h);
      if (isListening(s as never)) push(listening, listenKey(proto, s.LocalPort), h);
    }
  }
  return { exact, listening };
}

export function flowSockets(flows: Record<string, unknown>[], g: QueryGraph): Record<string, unknown>[] {
  const { exact, listening } = socketsOf(g);
  // Whether namespace node `ns` owns an interface with the address (a wildcard listener answers for it).
  const holds = (ns: string, address: string) =>
    g.outEdges(ns).some((e) => e.Metadata.RelationType === "ownership" && holdsAddress(g.node(e.Child)?.Metadata ?? {}, address));
  const listener = (proto: string, address: string, port: unknown): Held[] => {
    const candidates = listening.get(listenKey(proto, port)) ?? [];
    const bound = candidates.filter((h) => addr(h.socket.LocalAddress) === address);
    return bound.length ? bound : candidates.filter((h) => WILDCARD.has(addr(h.socket.LocalAddress)) && holds(h.NodeID, address)).slice(0, 1);
  };
  const out: Record<string, unknown>[] = [];
  for (const f of flows) {
    const net = f.Network as { A?: string; B?: string } | null;
    const tr = f.Transport as { Protocol?: string; A?: number; B?: number } | null;
    const proto = String(tr?.Protocol ?? "").toUpperCase();
    if (!net || !tr || (proto !== "TCP" && proto !== "UDP")) continue;
    const ends: [string, unknown, string, unknown][] = [
      [addr(net.A), tr.A, addr(net.B), tr.B],
      [addr(net.B), tr.B, addr(net.A), tr.A],
    ];
    for (const [la, lp, ra, rp] of ends)
      for (const h of exact.get(exactKey(proto, la, lp, ra, rp)) ?? listener(proto, la, lp)) out.push({ FlowUUID: f.UUID, NodeID: h.NodeID, ...h.socket });
  }
  return out;
}
