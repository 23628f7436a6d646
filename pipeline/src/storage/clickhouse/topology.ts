// The topology history tables (migration 003): writing the materializer's rows, reading back an
// origin's state, and the graph at a time t or between two times (Skydive's At/Context).
import type { Storage } from "./storage.js";

export type ElementKind = "node" | "edge";

/** One revision of an element, times in ms. */
export interface TopologyRevision {
  Kind: ElementKind;
  ID: string;
  Origin: string;
  Host: string;
  Type: string;
  Name: string;
  Parent: string;
  Child: string;
  RelationType: string;
  Metadata: string;
  CreatedAt: number;
  UpdatedAt: number;
  DeletedAt: number | null;
  Revision: number;
  ValidFrom: number;
}

export interface TopologyOrigin {
  Origin: string;
  Host: string;
  Topic: string;
  Partition: number;
  LastTime: number;
  LastSequence: number;
  LastSeen: number;
  Retired: 0 | 1;
  RetiredAt: number | null;
  Version: bigint;
}

export interface TopologyRows {
  archive: (TopologyRevision & { ValidTo: number })[];
  live: (TopologyRevision & { Version: bigint; Deleted: 0 | 1 })[];
  origins: TopologyOrigin[];
}

const REVISION_COLUMNS = [
  "Kind",
  "ID",
  "Origin",
  "Host",
  "Type",
  "Name",
  "Parent",
  "Child",
  "RelationType",
  "Metadata",
  "CreatedAt",
  "UpdatedAt",
  "DeletedAt",
  "Revision",
  "ValidFrom",
] as const;

const ORIGIN_COLUMNS = ["Origin", "Host", "Topic", "Partition", "LastTime", "LastSequence", "LastSeen", "Retired", "RetiredAt", "Version"] as const;

/** A revision as the start of a JSONEachRow object (no closing brace); times as ms (DateTime64(3) ticks). */
const revisionJson = (r: TopologyRevision) =>
  `{"Kind":"${r.Kind}","ID":${JSON.stringify(r.ID)},"Origin":${JSON.stringify(r.Origin)},"Host":${JSON.stringify(r.Host)},` +
  `"Type":${JSON.stringify(r.Type)},"Name":${JSON.stringify(r.Name)},"Parent":${JSON.stringify(r.Parent)},"Child":${JSON.stringify(r.Child)},` +
  `"RelationType":${JSON.stringify(r.RelationType)},"Metadata":${JSON.stringify(r.Metadata)},"CreatedAt":${r.CreatedAt},"UpdatedAt":${r.UpdatedAt},` +
  `"DeletedAt":${r.DeletedAt ?? "null"},"Revision":${r.Revision},"ValidFrom":${r.ValidFrom}`;

/** SELECT list reading a revision back with times in ms. */
const REVISION_SELECT = `Kind, ID, Origin, Host, Type, Name, Parent, Child, RelationType, Metadata,
  toUnixTimestamp64Milli(CreatedAt) AS CreatedAt, toUnixTimestamp64Milli(UpdatedAt) AS UpdatedAt,
  if(isNull(DeletedAt), NULL, toUnixTimestamp64Milli(assumeNotNull(DeletedAt))) AS DeletedAt, Revision, toUnixTimestamp64Milli(ValidFrom) AS ValidFrom`;

interface RevisionJson extends Omit<TopologyRevision, "CreatedAt" | "UpdatedAt" | "DeletedAt" | "ValidFrom" | "Revision"> {
  CreatedAt: string | number;
  UpdatedAt: string | number;
  DeletedAt: string | number | null;
  ValidFrom: string | number;
  Revision: string | number;
}

const revisionFromJson = (r: RevisionJson): TopologyRevision => ({
  ...r,
  CreatedAt: Number(r.CreatedAt),
  UpdatedAt: Number(r.UpdatedAt),
  DeletedAt: r.DeletedAt === null ? null : Number(r.DeletedAt),
  ValidFrom: Number(r.ValidFrom),
  Revision: Number(r.Revision),
});

export class TopologyTables {
  constructor(private readonly storage: Storage) {}

  private get db() {
    return this.storage.database;
  }

  private async rows<T>(query: string, params: Record<string, unknown> = {}): Promise<T[]> {
    const r = await this.storage.client.query({
      query,
      query_params: params,
      format: "JSONEachRow",
      clickhouse_settings: { output_format_json_quote_64bit_integers: 1 },
    });
    return r.json<T>();
  }

  /**
   * Writes the rows of one materializer round: closed revisions first, then current ones, then the
   * origins' watermarks. Repeating a round (after a crash) writes rows that collapse with the first ones.
   */
  async write(rows: TopologyRows): Promise<void> {
    const db = this.db;
    const insert = (table: string, columns: readonly string[], lines: string[]) =>
      lines.length === 0
        ? Promise.resolve()
        : this.storage.insertRaw({ table: `${db}.${table}`, columns, format: "JSONEachRow", data: Buffer.from(lines.join("\n")) });
    await insert(
      "topology_archive",
      [...REVISION_COLUMNS, "ValidTo"],
      rows.archive.map((r) => `${revisionJson(r)},"ValidTo":${r.ValidTo}}`),
    );
    await insert(
      "topology_live",
      [...REVISION_COLUMNS, "Version", "Deleted"],
      rows.live.map((r) => `${revisionJson(r)},"Version":"${r.Version}","Deleted":${r.Deleted}}`),
    );
    await insert(
      "topology_origins",
      ORIGIN_COLUMNS,
      rows.origins.map((o) => JSON.stringify({ ...o, Version: o.Version.toString() })),
    );
  }

  /** What storage knows of the origins last read from a partition, with their elements and recent tombstones. */
  loadPartition(topic: string, partition: number, tombstoneSinceMs: number) {
    return this.loadOrigins("Topic = {topic:String} AND Partition = {partition:UInt32}", { topic, partition }, tombstoneSinceMs);
  }

  /** Every origin, element and recent tombstone; and every revision valid since `historySinceMs`. */
  async loadAll(tombstoneSinceMs: number, historySinceMs: number) {
    const state = await this.loadOrigins("1", {}, tombstoneSinceMs);
    const history = (
      await this.rows<RevisionJson & { ValidToMs: string }>(
        `SELECT ${REVISION_SELECT}, toUnixTimestamp64Milli(ValidTo) AS ValidToMs FROM ${this.db}.topology_archive
         WHERE ValidTo >= fromUnixTimestamp64Milli({since:Int64})`,
        { since: historySinceMs },
      )
    ).map((r) => ({ ...revisionFromJson(r), ValidTo: Number(r.ValidToMs) }));
    return { ...state, history };
  }

  private async loadOrigins(where: string, params: Record<string, unknown>, tombstoneSinceMs: number) {
    const origins = (
      await this.rows<Record<string, string | number | null>>(
        `SELECT Origin, Host, Topic, Partition, toUnixTimestamp64Milli(LastTime) AS LastTime, LastSequence,
                toUnixTimestamp64Milli(LastSeen) AS LastSeen, Retired,
                if(isNull(RetiredAt), NULL, toUnixTimestamp64Milli(assumeNotNull(RetiredAt))) AS RetiredAt, toString(Version) AS Version
         FROM ${this.db}.topology_origins FINAL WHERE ${where}`,
        params,
      )
    ).map((r): TopologyOrigin => ({
      Origin: String(r.Origin),
      Host: String(r.Host),
      Topic: String(r.Topic),
      Partition: Number(r.Partition),
      LastTime: Number(r.LastTime),
      LastSequence: Number(r.LastSequence),
      LastSeen: Number(r.LastSeen),
      Retired: Number(r.Retired) ? 1 : 0,
      RetiredAt: r.RetiredAt === null ? null : Number(r.RetiredAt),
      Version: BigInt(String(r.Version)),
    }));
    if (origins.length === 0) return { origins, live: [], tombstones: [] };
    const names = origins.map((o) => o.Origin);
    const live = (
      await this.rows<RevisionJson & { Version: string }>(
        `SELECT ${REVISION_SELECT}, toString(Version) AS Version FROM ${this.db}.topology_live FINAL WHERE Origin IN {origins:Array(String)}`,
        { origins: names },
      )
    ).map((r) => ({ ...revisionFromJson(r), Version: BigInt(r.Version) }));
    const tombstones = (
      await this.rows<{ Kind: ElementKind; ID: string; LastVersion: string; DeletedMs: string }>(
        `SELECT Kind, ID, toString(max(Version)) AS LastVersion, toUnixTimestamp64Milli(max(assumeNotNull(DeletedAt))) AS DeletedMs
         FROM ${this.db}.topology_live
         WHERE Origin IN {origins:Array(String)} AND Deleted = 1 AND DeletedAt >= fromUnixTimestamp64Milli({since:Int64})
         GROUP BY Kind, ID`,
        { origins: names, since: tombstoneSinceMs },
      )
    ).map((t) => ({ Kind: t.Kind, ID: t.ID, Version: BigInt(t.LastVersion), DeletedAt: Number(t.DeletedMs) }));
    return { origins, live, tombstones };
  }

  /** The graph as it was at `t` (ms): every node and edge in the revision it had then. */
  async at(t: number): Promise<{ nodes: TopologyRevision[]; edges: TopologyRevision[] }> {
    return this.graphRows(`${this.db}.topology_at(t = fromUnixTimestamp64Milli({t:Int64}))`, { t });
  }

  /** Every node and edge that existed at some point of [t0, t1] (ms), in the last revision it had there. */
  async during(t0: number, t1: number): Promise<{ nodes: TopologyRevision[]; edges: TopologyRevision[] }> {
    const cols = "Kind, ID, Origin, Host, Type, Name, Parent, Child, RelationType, Metadata, CreatedAt, UpdatedAt, DeletedAt, Revision, ValidFrom";
    const from = `(
      SELECT * FROM (
        SELECT ${cols} FROM ${this.db}.topology_archive
        WHERE ValidFrom <= fromUnixTimestamp64Milli({t1:Int64}) AND ValidTo > fromUnixTimestamp64Milli({t0:Int64})
        UNION ALL
        SELECT ${cols} FROM ${this.db}.topology_live FINAL WHERE ValidFrom <= fromUnixTimestamp64Milli({t1:Int64}))
      ORDER BY Kind, ID, ValidFrom DESC
      LIMIT 1 BY Kind, ID)`;
    return this.graphRows(from, { t0, t1 });
  }

  private async graphRows(from: string, params: Record<string, unknown>): Promise<{ nodes: TopologyRevision[]; edges: TopologyRevision[] }> {
    // Compact rows (arrays, no keys): a large graph comes back about a third faster than as objects.
    const r = await this.storage.client.query({ query: `SELECT ${REVISION_SELECT} FROM ${from}`, query_params: params, format: "JSONCompactEachRow" });
    const nodes: TopologyRevision[] = [];
    const edges: TopologyRevision[] = [];
    for (const values of await r.json<unknown[]>()) {
      const row = revisionFromJson(Object.fromEntries(REVISION_COLUMNS.map((c, k) => [c, values[k]])) as unknown as RevisionJson);
      (row.Kind === "node" ? nodes : edges).push(row);
    }
    return { nodes, edges };
  }

  /** Elements that appeared, disappeared or changed between `t1` and `t2` (ms). */
  async diff(
    t1: number,
    t2: number,
  ): Promise<{ added: TopologyRevision[]; deleted: TopologyRevision[]; changed: { before: TopologyRevision; after: TopologyRevision }[] }> {
    const [a, b] = await Promise.all([this.at(t1), this.at(t2)]);
    const before = new Map([...a.nodes, ...a.edges].map((r) => [`${r.Kind}:${r.ID}`, r]));
    const after = new Map([...b.nodes, ...b.edges].map((r) => [`${r.Kind}:${r.ID}`, r]));
    const added: TopologyRevision[] = [];
    const changed: { before: TopologyRevision; after: TopologyRevision }[] = [];
    for (const [k, r] of after) {
      const old = before.get(k);
      if (!old) added.push(r);
      else if (old.ValidFrom !== r.ValidFrom) changed.push({ before: old, after: r });
    }
    const deleted = [...before].filter(([k]) => !after.has(k)).map(([, r]) => r);
    return { added, deleted, changed };
  }
}
