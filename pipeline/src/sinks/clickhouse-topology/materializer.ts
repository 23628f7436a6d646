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
import { edgeFromAvro, nodeFromAvro } from "@skystream/agent";
import type { ElementKind as Kind, TopologyOrigin, TopologyRevision, TopologyRows } from "../../storage/clickhouse/index.js";

export type Revision = TopologyRevision;
export type LiveRow = TopologyRows["live"][number];
export type ArchiveRow = TopologyRows["archive"][number];
export type OriginRow = TopologyOrigin;

interface Element {
  row: Revision;
  version: bigint;
  /** What makes two revisions different (bookkeeping fields aside). */
  content: string;
}

interface OpenSnapshot {
  id: string;
  /** Offset of its SNAPSHOT_BEGIN: the partition is not committed past it until SNAPSHOT_END. */
  offset: bigint;
  seen: Set<string>;
}

interface OriginState {
  row: OriginRow;
  elements: Set<string>;
  snapshot?: OpenSnapshot;
  /** Wall clock of its last message here, for retirement. */
  arrival: number;
}

/** Rows to write, in this order: archive, live, origins. */
export type Pending = TopologyRows;

export const deltaVersion = (time: number, sequence: number): bigint => (BigInt(time) << 20n) | BigInt(sequence & 0xfffff);
const key = (kind: Kind, id: string) => (kind === "node" ? "n" : "e") + id;

/** A deleted element is remembered this long, so a replayed older delta cannot bring it back. */
const TOMBSTONE_MS = 3_600_000;

export interface MaterializerCounters {
  applied: number;
  skipped: number;
  revisions: number;
}

export class Materializer {
  private readonly elements = new Map<string, Element>();
  private readonly tombstones = new Map<string, { version: bigint; at: number }>();
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
    const v = deltaVersion(d.Time, d.Sequence);
    if (!o.snapshot && v <= o.row.Version) {
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
          for (const k of [...o.elements]) if (!seen.has(k)) this.remove(k, d.Time, v);
          o.snapshot = undefined;
          this.advance(o, d, v);
        }
        return;
      case "ADD":
      case "UPDATE": {
        const rev = d.Node ? nodeRevision(d.Node) : d.Edge ? edgeRevision(d.Edge) : undefined;
        if (!rev) return;
        if (o.snapshot && d.SnapshotID === o.snapshot.id) o.snapshot.seen.add(key(rev.Kind, rev.ID));
        this.upsert(rev, d.Time, v);
        break;
      }
      case "DELETE": {
        const el = d.Node ? { kind: "node" as const, id: d.Node.ID } : d.Edge ? { kind: "edge" as const, id: d.Edge.ID } : undefined;
        if (el) this.remove(key(el.kind, el.id), d.Time, v);
        break;
      }
    }
    if (!o.snapshot) this.advance(o, d, v);
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

  private advance(o: OriginState, d: TopologyDelta, v: bigint): void {
    if (v <= o.row.Version) return;
    o.row.Version = v;
    o.row.LastTime = d.Time;
    o.row.LastSequence = d.Sequence;
    this.changedOrigins.add(o.row.Origin);
  }

  private upsert(rev: Revision, time: number, v: bigint): void {
    const k = key(rev.Kind, rev.ID);
    const cur = this.elements.get(k);
    if (cur ? v <= cur.version : v <= (this.tombstones.get(k)?.version ?? -1n)) return;
    const content = contentOf(rev);
    if (cur?.content === content) return;
    if (cur) {
      this.pending.archive.push({ ...cur.row, ValidTo: Math.max(time, cur.row.ValidFrom) });
      if (cur.row.Origin !== rev.Origin) this.origins.get(cur.row.Origin)?.elements.delete(k);
    }
    const row: Revision = { ...rev, DeletedAt: null, ValidFrom: time };
    this.elements.set(k, { row, version: v, content });
    this.tombstones.delete(k);
    this.origins.get(rev.Origin)?.elements.add(k);
    this.pending.live.push({ ...row, Version: v, Deleted: 0 });
    this.counters.revisions++;
  }

  private remove(k: string, time: number, v: bigint): void {
    const cur = this.elements.get(k);
    if (!cur || v <= cur.version) return;
    const at = Math.max(time, cur.row.ValidFrom);
    this.pending.archive.push({ ...cur.row, DeletedAt: at, ValidTo: at });
    this.pending.live.push({ ...cur.row, DeletedAt: at, Version: v, Deleted: 1 });
    this.elements.delete(k);
    this.origins.get(cur.row.Origin)?.elements.delete(k);
    this.tombstones.set(k, { version: v, at });
  }

  /**
   * Retires the origins of `partitions` silent for longer than `afterMs` (by the wall clock of their last
   * message here): their elements are deleted, their history kept. Returns the origins retired.
   */
  retire(partitions: Set<string>, afterMs: number, now = Date.now()): string[] {
    const retired: string[] = [];
    for (const o of this.origins.values()) {
      if (o.row.Retired || now - o.arrival < afterMs || !partitions.has(`${o.row.Topic}\u0000${o.row.Partition}`)) continue;
      const at = Math.max(now, o.row.LastSeen + 1);
      const v = deltaVersion(at, 0xfffff);
      for (const k of [...o.elements]) this.remove(k, at, v);
      o.snapshot = undefined;
      o.row.Retired = 1;
      o.row.RetiredAt = at;
      if (v > o.row.Version) o.row.Version = v;
      this.changedOrigins.add(o.row.Origin);
      retired.push(o.row.Origin);
    }
    return retired;
  }

  /** The lowest offset of `partition` that an open snapshot still needs, if any. */
  holdOffset(topic: string, partition: number): bigint | undefined {
    let min: bigint | undefined;
    for (const o of this.origins.values())
      if (o.snapshot && o.row.Partition === partition && o.row.Topic === topic && (min === undefined || o.snapshot.offset < min)) min = o.snapshot.offset;
    return min;
  }

  /** Origins currently read from a partition. */
  originsOf(topic: string, partition: number): string[] {
    return [...this.origins.values()].filter((o) => o.row.Topic === topic && o.row.Partition === partition).map((o) => o.row.Origin);
  }

  /** Rows to write since the last call. */
  drain(): Pending {
    for (const name of this.changedOrigins) {
      const o = this.origins.get(name);
      if (o) this.pending.origins.push({ ...o.row });
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
      this.origins.set(r.Origin, { row: { ...r }, elements: new Set(), arrival: now });
      this.changedOrigins.delete(r.Origin);
    }
    for (const r of live) {
      const { Version, ...row } = r;
      const k = key(row.Kind, row.ID);
      this.elements.set(k, { row, version: Version, content: contentOf(row) });
      this.tombstones.delete(k);
      this.origins.get(row.Origin)?.elements.add(k);
    }
    for (const t of tombstones) if (now - t.DeletedAt < TOMBSTONE_MS) this.tombstones.set(key(t.Kind, t.ID), { version: t.Version, at: t.DeletedAt });
  }

  /** Forgets tombstones older than the replay horizon. */
  pruneTombstones(now = Date.now()): void {
    for (const [k, t] of this.tombstones) if (now - t.at > TOMBSTONE_MS) this.tombstones.delete(k);
  }
}

const contentOf = (r: Revision) =>
  `${r.Origin}\u0000${r.Host}\u0000${r.Type}\u0000${r.Name}\u0000${r.Parent}\u0000${r.Child}\u0000${r.RelationType}\u0000${r.Metadata}`;

function nodeRevision(a: AvroNode): Revision {
  const n = nodeFromAvro(a);
  return {
    Kind: "node",
    ID: n.ID,
    Origin: n.Origin,
    Host: n.Host,
    Type: n.Type,
    Name: n.Name,
    Parent: "",
    Child: "",
    RelationType: "",
    Metadata: JSON.stringify({ ...n.Metadata, Type: n.Type, Name: n.Name }),
    CreatedAt: n.CreatedAt,
    UpdatedAt: n.UpdatedAt,
    DeletedAt: null,
    Revision: n.Revision,
    ValidFrom: 0,
  };
}

function edgeRevision(a: AvroEdge): Revision {
  const e = edgeFromAvro(a);
  return {
    Kind: "edge",
    ID: e.ID,
    Origin: e.Origin,
    Host: e.Host,
    Type: "",
    Name: "",
    Parent: e.Parent,
    Child: e.Child,
    RelationType: e.RelationType,
    Metadata: JSON.stringify({ ...e.Metadata, RelationType: e.RelationType }),
    CreatedAt: e.CreatedAt,
    UpdatedAt: e.UpdatedAt,
    DeletedAt: null,
    Revision: e.Revision,
    ValidFrom: 0,
  };
}
