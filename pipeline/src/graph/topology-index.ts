// The topology in memory with recent history, indexed for flow enrichment: nodes by TID, MAC and IP,
// ownership (which namespace holds an interface, which container a namespace), and the sockets the
// socketinfo probe reports on host and netns nodes, each lookup answered as of a time window (the
// flow's), not as of now. Every edge is also indexed by its ends, for the query API's graph walks. Fed with the revisions the Materializer produces; revisions that ended more
// than `window` ago are forgotten.
import { ipv4 } from "../gremlin/predicates.js";
import type { Socket } from "@skystream/agent";
import type { TopologyRevision } from "../storage/clickhouse/index.js";

/** A socket as the socketinfo probe reports it in a namespace node's Sockets metadata. */
export type SocketInfo = Socket;

export interface NodeRevision {
  id: string;
  from: number;
  /** End of validity; Infinity while current. */
  to: number;
  row: TopologyRevision;
  md: Record<string, unknown>;
  sockets?: SocketInfo[];
  /** The node in the query API's shape, made when first asked for (see index-graph.ts). */
  shape?: unknown;
}

export interface EdgeRevision {
  id: string;
  from: number;
  to: number;
  parent: string;
  child: string;
  relation: string;
  row: TopologyRevision;
  /** The edge in the query API's shape, made when first asked for. */
  shape?: unknown;
}

type Revisions<T> = Map<string, T[]>;

/** Addresses as written in flows: no prefix length, IPv6 lower case. */
export const bareAddress = (cidr: string) => cidr.replace(/\/\d+$/, "").toLowerCase();
/** Whether a node's IPV4/IPV6 metadata (CIDR strings) holds a bare address. */
export function holdsAddress(md: Record<string, unknown>, address: string): boolean {
  const a = address.toLowerCase();
  for (const k of ["IPV4", "IPV6"] as const) {
    const l = md[k];
    if (Array.isArray(l) && l.some((c) => typeof c === "string" && bareAddress(c) === a)) return true;
  }
  return false;
}
const socketKey = (proto: string, la: string, lp: number, ra: string, rp: number) => `${proto}|${la}|${lp}|${ra}|${rp}`;
const listenKey = (proto: string, port: number) => `${proto}|${port}`;
/** Addresses a socket binds to mean "every address of its namespace". */
export const WILDCARD = new Set(["0.0.0.0", "::", ""]);

export function isListening(s: SocketInfo): boolean {
  return s.State === "LISTEN" || (s.Protocol === "UDP" && s.RemotePort === 0 && WILDCARD.has(s.RemoteAddress));
}

function addTo(index: Map<string, Set<string>>, key: string, id: string): void {
  let s = index.get(key);
  if (!s) index.set(key, (s = new Set()));
  s.add(id);
}

/** The revision of a list valid at some point of [t0, t1], the latest such one. */
function overlapping<T extends { from: number; to: number }>(list: T[] | undefined, t0: number, t1: number): T | undefined {
  if (!list) return undefined;
  for (let i = list.length - 1; i >= 0; i--) {
    const r = list[i]!;
    if (r.from <= t1 && r.to > t0) return r;
  }
  return undefined;
}

export class TopologyIndex {
  private readonly nodes: Revisions<NodeRevision> = new Map();
  private readonly edges: Revisions<EdgeRevision> = new Map();
  private readonly byTid = new Map<string, Set<string>>();
  private readonly byMac = new Map<string, Set<string>>();
  private readonly byIp = new Map<string, Set<string>>();
  /** byIp's IPv4 keys as numbers, sorted, for range lookups; rebuilt when a key comes or goes. */
  private ipv4Sorted?: { n: Float64Array; keys: string[] };
  /** child id -> ownership edge ids; parent id -> ownership edge ids. */
  private readonly owners = new Map<string, Set<string>>();
  private readonly owned = new Map<string, Set<string>>();
  /** Socket 5-tuple (local first) -> namespace node ids; listening protocol|port -> namespace node ids. */
  private readonly sockets = new Map<string, Set<string>>();
  private readonly listening = new Map<string, Set<string>>();
  /** Node ids by "Type\0value" / "Name\0value" (any revision kept), edge ids by relation type: the query API's indexes. */
  private readonly byTypeName = new Map<string, Set<string>>();
  private readonly byRelation = new Map<string, Set<string>>();
  /** Every edge id by its parent, and by its child. */
  private readonly fromParent = new Map<string, Set<string>>();
  private readonly toChild = new Map<string, Set<string>>();

  constructor(private readonly windowMs: number) {}

  get counts(): { nodes: number; edges: number } {
    return { nodes: this.nodes.size, edges: this.edges.size };
  }

  /** Applies one revision (a new state, or a deletion when DeletedAt is set and it is the last row). */
  apply(row: TopologyRevision & { Deleted?: 0 | 1 }): void {
    const deleted = row.Deleted === 1;
    const at = deleted ? (row.DeletedAt ?? row.ValidFrom) : row.ValidFrom;
    if (row.Kind === "node") {
      const list = this.nodes.get(row.ID);
      const open = list?.at(-1);
      if (open && open.to === Infinity) open.to = Math.max(open.from, at);
      if (deleted) return;
      const md = JSON.parse(row.Metadata) as Record<string, unknown>;
      // Every field set here, in one order: one object shape for all revisions (fields added later made
      // every access to them slower).
      const rev: NodeRevision = {
        id: row.ID,
        from: row.ValidFrom,
        to: Infinity,
        row,
        md,
        sockets: Array.isArray(md.Sockets) ? (md.Sockets as SocketInfo[]) : undefined,
        shape: undefined,
      };
      if (list) list.push(rev);
      else this.nodes.set(row.ID, [rev]);
      this.indexNode(rev);
    } else {
      const list = this.edges.get(row.ID);
      const open = list?.at(-1);
      if (open && open.to === Infinity) open.to = Math.max(open.from, at);
      if (deleted) return;
      const rev: EdgeRevision = {
        id: row.ID,
        from: row.ValidFrom,
        to: Infinity,
        parent: row.Parent,
        child: row.Child,
        relation: row.RelationType,
        row,
        shape: undefined,
      };
      if (list) list.push(rev);
      else this.edges.set(row.ID, [rev]);
      addTo(this.fromParent, rev.parent, rev.id);
      addTo(this.byRelation, rev.relation, rev.id);
      addTo(this.toChild, rev.child, rev.id);
      if (rev.relation === "ownership") {
        addTo(this.owners, rev.child, rev.id);
        addTo(this.owned, rev.parent, rev.id);
      }
    }
  }

  /** Revisions valid at some point of [t0, t1] of what a historic load returns (oldest first per element). */
  applyHistory(rows: (TopologyRevision & { ValidTo: number })[]): void {
    const sorted = [...rows].sort((a, b) => a.ValidFrom - b.ValidFrom);
    for (const r of sorted) {
      this.apply(r);
      const list = r.Kind === "node" ? this.nodes.get(r.ID) : this.edges.get(r.ID);
      const last = list?.at(-1);
      if (last && r.ValidTo < 8e12) last.to = r.ValidTo;
    }
  }

  private indexNode(rev: NodeRevision): void {
    const { md, id } = rev;
    addTo(this.byTypeName, `Type\0${rev.row.Type}`, id);
    addTo(this.byTypeName, `Name\0${rev.row.Name}`, id);
    if (typeof md.TID === "string" && md.TID) addTo(this.byTid, md.TID, id);
    if (typeof md.MAC === "string" && md.MAC) addTo(this.byMac, md.MAC.toLowerCase(), id);
    for (const key of ["IPV4", "IPV6"] as const) {
      const v = md[key];
      for (const a of Array.isArray(v) ? v : [v])
        if (typeof a === "string" && a) {
          const k = bareAddress(a);
          if (!this.byIp.has(k)) this.ipv4Sorted = undefined;
          addTo(this.byIp, k, id);
        }
    }
    for (const s of rev.sockets ?? []) {
      addTo(this.sockets, socketKey(s.Protocol, s.LocalAddress, s.LocalPort, s.RemoteAddress, s.RemotePort), id);
      if (isListening(s)) addTo(this.listening, listenKey(s.Protocol, s.LocalPort), id);
    }
  }

  node(id: string, t0: number, t1: number): NodeRevision | undefined {
    return overlapping(this.nodes.get(id), t0, t1);
  }

  private candidates(index: Map<string, Set<string>>, key: string, t0: number, t1: number): NodeRevision[] {
    const out: NodeRevision[] = [];
    for (const id of index.get(key) ?? []) {
      const r = this.node(id, t0, t1);
      if (r) out.push(r);
    }
    return out;
  }

  byTID(tid: string, t0: number, t1: number): NodeRevision | undefined {
    return this.candidates(this.byTid, tid, t0, t1).find((r) => r.md.TID === tid);
  }

  withMac(mac: string, t0: number, t1: number): NodeRevision[] {
    const m = mac.toLowerCase();
    return this.candidates(this.byMac, m, t0, t1).filter((r) => String(r.md.MAC).toLowerCase() === m);
  }

  /** Ids of nodes that held an IPv4 address in [lo, hi) in a kept revision (IPV4Range on IPV4). */
  nodeIdsInIpv4Range(lo: number, hi: number): Iterable<string> {
    if (!this.ipv4Sorted) {
      const pairs: [number, string][] = [];
      for (const k of this.byIp.keys()) {
        const n = ipv4(k);
        if (n !== undefined) pairs.push([n, k]);
      }
      pairs.sort((a, b) => a[0] - b[0]);
      this.ipv4Sorted = { n: Float64Array.from(pairs, (p) => p[0]), keys: pairs.map((p) => p[1]) };
    }
    const { n, keys } = this.ipv4Sorted;
    let a = 0;
    let b = n.length;
    while (a < b) {
      const m = (a + b) >>> 1;
      if (n[m]! < lo) a = m + 1;
      else b = m;
    }
    const ids = new Set<string>();
    for (let i = a; i < n.length && n[i]! < hi; i++) for (const id of this.byIp.get(keys[i]!) ?? []) ids.add(id);
    return ids;
  }

  withIp(ip: string, t0: number, t1: number): NodeRevision[] {
    return this.candidates(this.byIp, ip.toLowerCase(), t0, t1).filter((r) => holdsAddress(r.md, ip));
  }

  /** The node owning `id` (ownership edge) then. */
  owner(id: string, t0: number, t1: number): NodeRevision | undefined {
    for (const eid of this.owners.get(id) ?? []) {
      const e = overlapping(this.edges.get(eid), t0, t1);
      if (e && e.child === id) {
        const p = this.node(e.parent, t0, t1);
        if (p) return p;
      }
    }
    return undefined;
  }

  /** Nodes owned by `id` then, optionally of one type. */
  ownedBy(id: string, t0: number, t1: number, type?: string): NodeRevision[] {
    const out: NodeRevision[] = [];
    for (const eid of this.owned.get(id) ?? []) {
      const e = overlapping(this.edges.get(eid), t0, t1);
      if (!e || e.parent !== id) continue;
      const c = this.node(e.child, t0, t1);
      if (c && (!type || c.row.Type === type)) out.push(c);
    }
    return out;
  }

  /** Revisions with sockets of namespace nodes `ids` valid in [t0, t1], newest first per node. */
  private *socketRevisions(ids: Iterable<string>, t0: number, t1: number): Generator<NodeRevision & { sockets: SocketInfo[] }> {
    for (const id of ids) {
      const list = this.nodes.get(id);
      if (!list) continue;
      for (let i = list.length - 1; i >= 0; i--) {
        const r = list[i]!;
        if (r.from <= t1 && r.to > t0 && r.sockets) yield r as NodeRevision & { sockets: SocketInfo[] };
      }
    }
  }

  /**
   * The socket with this local/remote tuple, on `ns` when given, else on any namespace node; with the
   * namespace node that reported it. The revisions looked at are those valid in [t0, t1].
   */
  socket(
    proto: string,
    la: string,
    lp: number,
    ra: string,
    rp: number,
    t0: number,
    t1: number,
    ns?: string,
  ): { ns: NodeRevision; socket: SocketInfo } | undefined {
    const ids = ns ? [ns] : (this.sockets.get(socketKey(proto, la, lp, ra, rp)) ?? []);
    for (const r of this.socketRevisions(ids, t0, t1)) {
      const s = r.sockets.find((x) => x.Protocol === proto && x.LocalPort === lp && x.RemotePort === rp && x.LocalAddress === la && x.RemoteAddress === ra);
      if (s) return { ns: r, socket: s };
    }
    return undefined;
  }

  /** A socket listening on `port` for `address` (bound to it or to the wildcard), on `ns` when given. */
  listener(proto: string, address: string, port: number, t0: number, t1: number, ns?: string): { ns: NodeRevision; socket: SocketInfo } | undefined {
    const ids = ns ? [ns] : (this.listening.get(listenKey(proto, port)) ?? []);
    let wildcard: { ns: NodeRevision; socket: SocketInfo } | undefined;
    for (const r of this.socketRevisions(ids, t0, t1)) {
      for (const s of r.sockets) {
        if (s.Protocol !== proto || s.LocalPort !== port || !isListening(s)) continue;
        if (s.LocalAddress === address) return { ns: r, socket: s };
        // A wildcard listener answers for the address only where the namespace holds it (or when asked about ns).
        if (WILDCARD.has(s.LocalAddress) && !wildcard && (ns || this.holds(r.id, address, t0, t1))) wildcard = { ns: r, socket: s };
      }
    }
    return wildcard;
  }

  /** Whether an interface owned by namespace node `ns` has `address`. */
  private holds(ns: string, address: string, t0: number, t1: number): boolean {
    return this.withIp(address, t0, t1).some((n) => this.owner(n.id, t0, t1)?.id === ns);
  }

  /** Node ids, current or not (with revisions kept). */
  nodeIds(): Iterable<string> {
    return this.nodes.keys();
  }

  edgeIds(): Iterable<string> {
    return this.edges.keys();
  }

  edge(id: string, t0: number, t1: number): EdgeRevision | undefined {
    return overlapping(this.edges.get(id), t0, t1);
  }

  /** Ids of edges (any revision kept) whose parent, or child, is the node. */
  edgeIdsOf(node: string, side: "parent" | "child"): Iterable<string> {
    return (side === "parent" ? this.fromParent : this.toChild).get(node) ?? [];
  }

  /** Ids of nodes whose Type or Name (key) had this value in a kept revision. */
  nodeIdsBy(key: "Type" | "Name", value: string): Iterable<string> {
    return this.byTypeName.get(`${key}\0${value}`) ?? [];
  }

  /** Ids of edges of this relation type. */
  edgeIdsBy(relation: string): Iterable<string> {
    return this.byRelation.get(relation) ?? [];
  }

  /** How far back the kept revisions are complete. */
  get window(): number {
    return this.windowMs;
  }

  /** Forgets revisions that ended before now - window. */
  prune(now = Date.now()): void {
    const horizon = now - this.windowMs;
    const dropNodes: string[] = [];
    for (const [id, list] of this.nodes) {
      const keep = list.filter((r) => r.to >= horizon);
      if (keep.length === list.length) continue;
      if (keep.length === 0) {
        this.nodes.delete(id);
        dropNodes.push(id);
      } else this.nodes.set(id, keep);
    }
    for (const [id, list] of this.edges) {
      const keep = list.filter((r) => r.to >= horizon);
      if (keep.length === list.length) continue;
      if (keep.length > 0) this.edges.set(id, keep);
      else {
        this.edges.delete(id);
        for (const e of list) {
          this.owners.get(e.child)?.delete(id);
          this.owned.get(e.parent)?.delete(id);
          for (const [ends, node] of [
            [this.fromParent, e.parent],
            [this.toChild, e.child],
            [this.byRelation, e.relation],
          ] as const) {
            ends.get(node)?.delete(id);
            if (ends.get(node)?.size === 0) ends.delete(node);
          }
        }
      }
    }
    if (dropNodes.length === 0) return;
    // Index entries of forgotten nodes: lookups skip them, removal keeps the maps from growing.
    const gone = new Set(dropNodes);
    this.ipv4Sorted = undefined;
    for (const index of [this.byTid, this.byMac, this.byIp, this.sockets, this.listening, this.byTypeName])
      for (const [k, ids] of index) {
        for (const id of ids) if (gone.has(id)) ids.delete(id);
        if (ids.size === 0) index.delete(k);
      }
  }
}
