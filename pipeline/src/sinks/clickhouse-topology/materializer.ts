// The graph materializer: applies TopologyDeltas to the live graph it keeps in memory and says which
// rows the history tables need (topology_archive, topology_live, topology_origins). No I/O here.
//
// Every revision is timed by its delta: ValidFrom is the time of the delta that made it, ValidTo the
// time of the one that replaced or deleted it. A delta's version (time << 20 | sequence) orders it
// against what an element already holds, so applying a delta twice (a replay after a crash, from the
// last committed offset) changes nothing and a replayed older delta never overwrites a newer state.
// Snapshots replace an origin's view: at SNAPSHOT_END, the origin's elements the snapshot did not carry
// are deleted. While a snapshot is open its partition's commit stays at SNAPSHOT_BEGIN, so a replay
// always sees a whole snapshot.
import type { TopologyDelta, Node as AvroNode, Edge as AvroEdge } from "@skystream/schemas";
import { partitionKey } from "../partitions.js";
import type { ElementKind as Kind, TopologyOrigin, TopologyRevision, TopologyRows } from "../../storage/clickhouse/index.js";

export type Revision = TopologyRevision;
export type LiveRow = TopologyRows["live"][number];
export type ArchiveRow = TopologyRows["archive"][number];
export type OriginRow = TopologyOrigin;

interface Element {
  /** The current revision, as written to topology_live (shared with the pending rows, never mutated). */
  row: LiveRow;
  /** Version of the delta that made it: time, then sequence. */
  vt: number;
  vs: number;
}

interface OpenSnapshot {
  id: string;
  /** Offset of its SNAPSHOT_BEGIN: the partition is not committed past it until SNAPSHOT_END. */
  offset: bigint;
  seen: Set<string>;
}

interface OriginState {
  row: OriginRow;
  /** Watermark: version of the last delta applied outside a snapshot. */
  vt: number;
  vs: number;
  elements: Set<string>;
  snapshot?: OpenSnapshot;
  /** Wall clock of its last message here, for retirement. */
  arrival: number;
}

/** Rows to write, in this order: archive, live, origins. */
export type Pending = TopologyRows;

export const deltaVersion = (time: number, sequence: number): bigint => (BigInt(time) << 20n) | BigInt(sequence & 0xfffff);
/** Versions compared without allocating: (time, sequence) in order. */
const newer = (t: number, s: number, vt: number, vs: number) => t > vt || (t === vt && s > vs);
/** A version's parts from its UInt64 form. */
const versionParts = (v: bigint): [number, number] => [Number(v >> 20n), Number(v & 0xfffffn)];
const key = (kind: Kind, id: string) => (kind === "node" ? "n" : "e") + id;

/** A deleted element is remembered this long, so a replayed older delta cannot bring it back. */
export const TOMBSTONE_MS = 3_600_000;

export interface MaterializerCounters {
  applied: number;
  skipped: number;
  revisions: number;
}

export class Materializer {
  private readonly elements = new Map<string, Element>();
  private readonly tombstones = new Map<string, { vt: number; vs: number; at: number }>();
  private readonly origins = new Map<string, OriginState>();
  private pending: Pending = { archive: [], live: [], origins: [] };
  private readonly changedOrigins = new Set<string>();
  readonly counters: MaterializerCounters = { applied: 0, skipped: 0, revisions: 0 };

  get size(): { nodes: number; edges: number; origins: number } {
    let nodes = 0;
    for (const k of this.elements.keys()) if (k.charCodeAt(0) === 110) nodes++;
    return { nodes, edges: this.elements.size - nodes, origins: this.origins.size };
  }

  /** Applies one delta read from `topic`/`partition` at `offset`. */
  apply(d: TopologyDelta, topic: string, partition: number, offset: bigint, now = Date.now()): void {
    const o = this.origin(d.Origin, d.Host, topic, partition);
    o.arrival = now;
    if (d.Time > o.row.LastSeen) {
      o.row.LastSeen = d.Time;
      this.changedOrigins.add(d.Origin);
    }
    const vt = d.Time;
    const vs = d.Sequence & 0xfffff;
    if (!o.snapshot && !newer(vt, vs, o.vt, o.vs)) {
      this.counters.skipped++;
      return;
    }
    if (o.row.Retired) {
      o.row.Retired = 0;
      o.row.RetiredAt = null;
      this.changedOrigins.add(d.Origin);
    }
    this.counters.applied++;
    switch (d.Op) {
      case "HEARTBEAT":
        break;
      case "SNAPSHOT_BEGIN":
        o.snapshot = { id: d.SnapshotID ?? "", offset, seen: new Set() };
        return;
      case "SNAPSHOT_END":
        if (o.snapshot && o.snapshot.id === d.SnapshotID) {
          const seen = o.snapshot.seen;
          for (const k of [...o.elements]) if (!seen.has(k)) this.remove(k, vt, vs);
          o.snapshot = undefined;
          this.advance(o, d, vt, vs);
        }
        return;
      case "ADD":
      case "UPDATE": {
        const kind = d.Node ? "node" : d.Edge ? "edge" : undefined;
        if (!kind) return;
        const k = key(kind, d.Node ? d.Node.ID : d.Edge!.ID);
        if (o.snapshot && d.SnapshotID === o.snapshot.id) o.snapshot.seen.add(k);
        this.upsert(k, d, vt, vs);
        break;
      }
      case "DELETE": {
        const el = d.Node ? { kind: "node" as const, id: d.Node.ID } : d.Edge ? { kind: "edge" as const, id: d.Edge.ID } : undefined;
        if (el) this.remove(key(el.kind, el.id), vt, vs);
        break;
      }
    }
    if (!o.snapshot) this.advance(o, d, vt, vs);
  }

  private origin(name: string, host: string, topic: string, partition: number): OriginState {
    let o = this.origins.get(name);
    if (!o) {
      o = {
        row: {
          Origin: name,
          Host: host,
          Topic: topic,
          Partition: partition,
          LastTime: 0,
          LastSequence: 0,
          LastSeen: 0,
          Retired: 0,
          RetiredAt: null,
          Version: 0n,
        },
        vt: 0,
        vs: 0,
        elements: new Set(),
        arrival: 0,
      };
      this.origins.set(name, o);
    }
    if (o.row.Partition !== partition || o.row.Topic !== topic) {
      o.row.Partition = partition;
      o.row.Topic = topic;
      this.changedOrigins.add(name);
    }
    return o;
  }

  private advance(o: OriginState, d: TopologyDelta, vt: number, vs: number): void {
    if (!newer(vt, vs, o.vt, o.vs)) return;
    o.vt = vt;
    o.vs = vs;
    o.row.LastTime = d.Time;
    o.row.LastSequence = d.Sequence;
    this.changedOrigins.add(o.row.Origin);
  }

  private upsert(k: string, d: TopologyDelta, vt: number, vs: number): void {
    const cur = this.elements.get(k);
    if (cur) {
      if (!newer(vt, vs, cur.vt, cur.vs)) return;
    } else {
      const t = this.tombstones.get(k);
      if (t && !newer(vt, vs, t.vt, t.vs)) return;
    }
    const row = d.Node ? nodeRow(d.Node, vt, vs) : edgeRow(d.Edge!, vt, vs);
    if (cur && sameContent(cur.row, row)) return;
    if (cur) {
      this.pending.archive.push({ ...cur.row, ValidTo: Math.max(vt, cur.row.ValidFrom) });
      if (cur.row.Origin !== row.Origin) this.origins.get(cur.row.Origin)?.elements.delete(k);
    }
    this.elements.set(k, { row, vt, vs });
    this.tombstones.delete(k);
    this.origins.get(row.Origin)?.elements.add(k);
    this.pending.live.push(row);
    this.counters.revisions++;
  }

  private remove(k: string, vt: number, vs: number): void {
    const cur = this.elements.get(k);
    if (!cur || !newer(vt, vs, cur.vt, cur.vs)) return;
    const at = Math.max(vt, cur.row.ValidFrom);
    this.pending.archive.push({ ...cur.row, DeletedAt: at, ValidTo: at });
    this.pending.live.push({ ...cur.row, DeletedAt: at, Version: deltaVersion(vt, vs), Deleted: 1 });
    this.elements.delete(k);
    this.origins.get(cur.row.Origin)?.elements.delete(k);
    this.tombstones.set(k, { vt, vs, at });
  }

  /**
   * Retires the origins of `partitions` silent for longer than `afterMs` (by the wall clock of their last
   * message here): their elements are deleted, their history kept. Returns the origins retired.
   */
  retire(partitions: Set<string>, afterMs: number, now = Date.now()): string[] {
    const retired: string[] = [];
    for (const o of this.origins.values()) {
      if (o.row.Retired || now - o.arrival < afterMs || !partitions.has(partitionKey(o.row.Topic, o.row.Partition))) continue;
      const at = Math.max(now, o.row.LastSeen + 1, o.vt + 1);
      for (const k of [...o.elements]) this.remove(k, at, 0xfffff);
      o.snapshot = undefined;
      o.row.Retired = 1;
      o.row.RetiredAt = at;
      o.vt = at;
      o.vs = 0xfffff;
      this.changedOrigins.add(o.row.Origin);
      retired.push(o.row.Origin);
    }
    return retired;
  }

  /** Every origin seen, retired ones included (their rows as topology_origins has them). */
  originRows(): OriginRow[] {
    return [...this.origins.values()].map((o) => o.row);
  }

  /** The lowest offset of `partition` that an open snapshot still needs, if any. */
  holdOffset(topic: string, partition: number): bigint | undefined {
    let min: bigint | undefined;
    for (const o of this.origins.values())
      if (o.snapshot && o.row.Partition === partition && o.row.Topic === topic && (min === undefined || o.snapshot.offset < min)) min = o.snapshot.offset;
    return min;
  }

  /** Rows to write since the last call. */
  drain(): Pending {
    for (const name of this.changedOrigins) {
      const o = this.origins.get(name);
      if (o) this.pending.origins.push({ ...o.row, Version: deltaVersion(o.vt, o.vs) });
    }
    this.changedOrigins.clear();
    const out = this.pending;
    this.pending = { archive: [], live: [], origins: [] };
    return out;
  }

  pendingRows(): number {
    return this.pending.archive.length + this.pending.live.length;
  }

  /**
   * Replaces what is known of some origins with what storage holds (at start, or when their partition is
   * assigned here after another process had it). `live` are their elements' current revisions.
   */
  load(
    origins: OriginRow[],
    live: (Revision & { Version: bigint })[],
    tombstones: { Kind: Kind; ID: string; Version: bigint; DeletedAt: number }[],
    now = Date.now(),
  ): void {
    for (const r of origins) {
      const old = this.origins.get(r.Origin);
      if (old) for (const k of old.elements) this.elements.delete(k);
      const [vt, vs] = versionParts(r.Version);
      this.origins.set(r.Origin, { row: { ...r }, vt, vs, elements: new Set(), arrival: now });
      this.changedOrigins.delete(r.Origin);
    }
    for (const r of live) {
      const k = key(r.Kind, r.ID);
      const [vt, vs] = versionParts(r.Version);
      this.elements.set(k, { row: { ...r, Deleted: 0 }, vt, vs });
      this.tombstones.delete(k);
      this.origins.get(r.Origin)?.elements.add(k);
    }
    for (const t of tombstones) {
      const [vt, vs] = versionParts(t.Version);
      if (now - t.DeletedAt < TOMBSTONE_MS) this.tombstones.set(key(t.Kind, t.ID), { vt, vs, at: t.DeletedAt });
    }
  }

  /** Forgets tombstones older than the replay horizon. */
  pruneTombstones(now = Date.now()): void {
    for (const [k, t] of this.tombstones) if (now - t.at > TOMBSTONE_MS) this.tombstones.delete(k);
  }
}

/** Two revisions differ by what they say, not by their bookkeeping (times, revision numbers). */
const sameContent = (a: Revision, b: Revision) =>
  a.Metadata === b.Metadata &&
  a.Name === b.Name &&
  a.Type === b.Type &&
  a.Parent === b.Parent &&
  a.Child === b.Child &&
  a.RelationType === b.RelationType &&
  a.Origin === b.Origin &&
  a.Host === b.Host;

/** Metadata JSON in Skydive's shape from the Avro node, without parsing Extra (already a JSON object). */
function nodeMetadata(a: AvroNode): string {
  const m = a.Metadata;
  let s = "{";
  if (m.TID) s += `"TID":${JSON.stringify(m.TID)},`;
  if (m.MAC) s += `"MAC":${JSON.stringify(m.MAC)},`;
  if (m.MTU) s += `"MTU":${m.MTU},`;
  if (m.State) s += `"State":${JSON.stringify(m.State)},`;
  if (m.IfIndex) s += `"IfIndex":${m.IfIndex},`;
  if (m.Driver) s += `"Driver":${JSON.stringify(m.Driver)},`;
  if (m.IPV4?.length) s += `"IPV4":${JSON.stringify(m.IPV4)},`;
  if (m.IPV6?.length) s += `"IPV6":${JSON.stringify(m.IPV6)},`;
  const extra = (m.Extra ?? "{}").trim();
  if (extra.length > 2) s += `${extra.slice(1, -1)},`;
  return `${s}"Type":${JSON.stringify(a.Type)},"Name":${JSON.stringify(a.Name)}}`;
}

function edgeMetadata(a: AvroEdge): string {
  const extra = (a.Extra ?? "{}").trim();
  return `{${extra.length > 2 ? `${extra.slice(1, -1)},` : ""}"RelationType":${JSON.stringify(a.RelationType)}}`;
}

/**
 * A new current revision of an element from its delta: bookkeeping fields from the agent, timed by the
 * delta. One object literal of one shape for nodes and edges (spreading into it was the materializer's
 * largest cost).
 */
function revisionRow(
  a: AvroNode | AvroEdge,
  vt: number,
  vs: number,
  Kind: Kind,
  Type: string,
  Name: string,
  Parent: string,
  Child: string,
  RelationType: string,
  Metadata: string,
): LiveRow {
  return {
    Kind,
    ID: a.ID,
    Origin: a.Origin,
    Host: a.Host,
    Type,
    Name,
    Parent,
    Child,
    RelationType,
    Metadata,
    CreatedAt: a.CreatedAt,
    UpdatedAt: a.UpdatedAt,
    DeletedAt: null,
    Revision: a.Revision,
    ValidFrom: vt,
    Version: deltaVersion(vt, vs),
    Deleted: 0,
  };
}

const nodeRow = (a: AvroNode, vt: number, vs: number) => revisionRow(a, vt, vs, "node", a.Type, a.Name, "", "", "", nodeMetadata(a));

const edgeRow = (a: AvroEdge, vt: number, vs: number) => revisionRow(a, vt, vs, "edge", "", "", a.Parent, a.Child, a.RelationType, edgeMetadata(a));
