// Versioned schema migrations. Each migration is a SQL file (sql/NNN_name.sql) applied once, in order,
// and recorded in {db}.schema_migrations. Settings that may change between runs (TTL) are reconciled
// at every start instead.
import { readFileSync } from "node:fs";
import type { Logger } from "@skystream/common";
import type { ClickhouseConfig } from "./config.js";
import type { Storage } from "./storage.js";

export interface Migration {
  version: number;
  name: string;
  sql: string;
  /** Applied only with clickhouse.cluster set (and recorded only then). */
  clusterOnly?: boolean;
}

const sqlFile = (name: string) => readFileSync(new URL(`./sql/${name}`, import.meta.url), "utf8");

export const MIGRATIONS: Migration[] = [
  { version: 1, name: "flows", sql: sqlFile("001_flows.sql") },
  { version: 2, name: "sink_ledger", sql: sqlFile("002_sink_ledger.sql") },
  { version: 3, name: "topology", sql: sqlFile("003_topology.sql") },
  { version: 4, name: "flow_enrichment", sql: sqlFile("004_flow_enrichment.sql") },
  { version: 5, name: "socket_matrix", sql: sqlFile("005_socket_matrix.sql") },
  { version: 6, name: "distributed", sql: sqlFile("006_distributed.sql"), clusterOnly: true },
  { version: 7, name: "alerts", sql: sqlFile("007_alerts.sql") },
  { version: 8, name: "topology_resources", sql: sqlFile("008_topology_resources.sql") },
  { version: 9, name: "alert_ttl", sql: sqlFile("009_alert_ttl.sql") },
];

/**
 * Fills {db}, {cluster}, {on_cluster}, {engine} (Replicated or nothing) and {flows_ttl_seconds}, and the
 * replication arguments: {engine_args} (in parentheses, for engines without arguments of their own) and
 * {replica_args} (followed by a comma, before an engine's own arguments) for tables sharded across the
 * cluster (flows and the flow matrix); {global_engine_args} and {global_replica_args} for tables every
 * server holds whole (the sink ledger and the topology: small, and read by whichever pipeline takes a
 * partition over, whatever its shard).
 */
export function renderSql(sql: string, cfg: ClickhouseConfig): string {
  const replicated = cfg.cluster !== "";
  // {shard} and {replica} are the servers' macros; {database} and {table} are expanded by ClickHouse itself.
  const sharded = "'/clickhouse/tables/{shard}/{database}/{table}', '{replica}'";
  const global = "'/clickhouse/tables/all/{database}/{table}', '{replica}'";
  const vars: Record<string, string> = {
    db: cfg.database,
    cluster: cfg.cluster,
    on_cluster: replicated ? `ON CLUSTER ${cfg.cluster}` : "",
    engine: replicated ? "Replicated" : "",
    engine_args: replicated ? `(${sharded})` : "",
    replica_args: replicated ? `${sharded}, ` : "",
    global_engine_args: replicated ? `(${global})` : "",
    global_replica_args: replicated ? `${global}, ` : "",
    flows_ttl_seconds: String(Math.round(cfg.flows_ttl / 1000)),
  };
  return sql.replace(
    /\{(db|cluster|on_cluster|engine|engine_args|replica_args|global_engine_args|global_replica_args|flows_ttl_seconds)\}/g,
    (_, k: string) => vars[k]!,
  );
}

export async function migrate(storage: Storage, cfg: ClickhouseConfig, log: Logger): Promise<number[]> {
  const c = storage.client;
  const onCluster = cfg.cluster ? ` ON CLUSTER ${cfg.cluster}` : "";
  await c.command({ query: `CREATE DATABASE IF NOT EXISTS ${cfg.database}${onCluster}` });
  await c.command({
    query: `CREATE TABLE IF NOT EXISTS ${cfg.database}.schema_migrations${onCluster}
      (version UInt32, name String, applied_at DateTime64(3) DEFAULT now64(3)) ENGINE = MergeTree ORDER BY version`,
  });
  const done = new Set(
    (await (await c.query({ query: `SELECT version FROM ${cfg.database}.schema_migrations`, format: "JSONEachRow" })).json<{ version: number }>()).map((r) =>
      Number(r.version),
    ),
  );
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    if (done.has(m.version) || (m.clusterOnly && !cfg.cluster)) continue;
    for (const stmt of splitStatements(renderSql(m.sql, cfg))) await c.command({ query: stmt });
    await c.insert({ table: `${cfg.database}.schema_migrations`, values: [{ version: m.version, name: m.name }], format: "JSONEachRow" });
    applied.push(m.version);
    log.info({ version: m.version, migration: m.name }, "applied migration");
  }
  await reconcileTtl(storage, cfg, log);
  return applied;
}

async function reconcileTtl(storage: Storage, cfg: ClickhouseConfig, log: Logger): Promise<void> {
  const seconds = Math.round(cfg.flows_ttl / 1000);
  const rows = await (
    await storage.client.query({
      query: `SELECT engine_full FROM system.tables WHERE database = {db:String} AND name = 'flows'`,
      query_params: { db: cfg.database },
      format: "JSONEachRow",
    })
  ).json<{ engine_full: string }>();
  const current = /toIntervalSecond\((\d+)\)/.exec(rows[0]?.engine_full ?? "")?.[1];
  if (current !== undefined && Number(current) !== seconds) {
    await storage.client.command({
      query: `ALTER TABLE ${cfg.database}.flows MODIFY TTL toDateTime(Time) + toIntervalSecond(${seconds})`,
      clickhouse_settings: { materialize_ttl_after_modify: 0 },
    });
    log.info({ from_seconds: Number(current), to_seconds: seconds }, "flows TTL changed");
  }
}

/** Splits a SQL file into statements on semicolons at line ends, dropping comment-only chunks. */
export function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*$/m)
    .map((s) => s.replace(/^\s*--.*$/gm, "").trim())
    .filter((s) => s.length > 0);
}
