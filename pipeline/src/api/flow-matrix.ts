// The flow matrix (who talks to whom) over a time range, from the flow_matrix tables (captured flows) or
// from socket knowledge at an instant (socket_matrix), with filters; rendered as JSON rows, as
// skydive-flow-matrix's CSV, or as its Graphviz drawing (a cluster per host, a node per process).
import type { Storage } from "../storage/clickhouse/index.js";

export interface MatrixRow {
  Protocol: string;
  Server: string;
  ServerIP: string;
  Port: number;
  ServerProc: string;
  ServerProcName: string;
  ServerNetns: string;
  Client: string;
  ClientIP: string;
  ClientProc: string;
  ClientProcName: string;
  ClientNetns: string;
  ClientToServerBytes: number;
  ClientToServerPackets: number;
  ServerToClientBytes: number;
  ServerToClientPackets: number;
  Flows: number;
  FirstSeen: number | null;
  LastSeen: number | null;
}

export interface MatrixQuery {
  /** ms */
  from: number;
  to: number;
  source: "flows" | "sockets";
  namespace?: string;
  host?: string;
  process?: string;
  protocol?: string;
  port?: number;
  limit: number;
}

const KEY = "Protocol, Server, ServerIP, Port, ServerProc, ServerProcName, ServerNetns, Client, ClientIP, ClientProc, ClientProcName, ClientNetns";
const ip = (col: string) => `replaceRegexpOne(toString(${col}), '^::ffff:', '') AS ${col}`;

export async function flowMatrix(storage: Storage, q: MatrixQuery): Promise<MatrixRow[]> {
  const db = storage.database;
  const params: Record<string, unknown> = { from: q.from, to: q.to, limit: q.limit };
  const where: string[] = [];
  const add = (name: string, value: unknown, sql: string) => {
    if (value === undefined) return;
    params[name] = value;
    where.push(sql);
  };
  add("ns", q.namespace, "(ServerNetns = {ns:String} OR ClientNetns = {ns:String})");
  add("host", q.host, "(Server = {host:String} OR Client = {host:String})");
  add("proc", q.process, "(ServerProcName = {proc:String} OR ClientProcName = {proc:String})");
  add("proto", q.protocol, "Protocol = {proto:String}");
  add("port", q.port, "Port = {port:UInt16}");
  const filter = where.length ? ` AND ${where.join(" AND ")}` : "";
  let sql: string;
  if (q.source === "sockets") {
    sql = `SELECT ${KEY.replace("ServerIP", ip("ServerIP")).replace("ClientIP", ip("ClientIP"))},
             0 AS ClientToServerBytes, 0 AS ClientToServerPackets, 0 AS ServerToClientBytes, 0 AS ServerToClientPackets, 0 AS Flows,
             NULL AS FirstSeen, NULL AS LastSeen
           FROM (SELECT DISTINCT ${KEY} FROM ${db}.socket_matrix(t = fromUnixTimestamp64Milli({to:Int64})) WHERE 1${filter})
           ORDER BY ${KEY} LIMIT {limit:UInt32}`;
  } else {
    // Ranges of hours read the hourly rollup; shorter ones the 5-minute table.
    const hourly = q.to - q.from >= 6 * 3_600_000;
    const table = `${db}.${hourly ? "flow_matrix_1h" : "flow_matrix"}${storage.cluster ? "_all" : ""}`;
    const bucket = hourly ? "toStartOfHour" : "toStartOfFiveMinutes";
    sql = `SELECT ${KEY.replace("ServerIP", ip("ServerIP")).replace("ClientIP", ip("ClientIP"))},
             sum(ClientToServerBytes) AS ClientToServerBytes, sum(ClientToServerPackets) AS ClientToServerPackets,
             sum(ServerToClientBytes) AS ServerToClientBytes, sum(ServerToClientPackets) AS ServerToClientPackets,
             sum(Flows) AS Flows, toUnixTimestamp64Milli(min(FirstSeen)) AS FirstSeen, toUnixTimestamp64Milli(max(LastSeen)) AS LastSeen
           FROM ${table}
           WHERE Bucket >= ${bucket}(fromUnixTimestamp64Milli({from:Int64})) AND Bucket <= fromUnixTimestamp64Milli({to:Int64})${filter}
           GROUP BY ${KEY}
           ORDER BY ClientToServerBytes + ServerToClientBytes DESC, ${KEY}
           LIMIT {limit:UInt32}`;
  }
  const r = await storage.client.query({ query: `${sql} SETTINGS output_format_json_quote_64bit_integers = 0`, query_params: params, format: "JSONEachRow" });
  return r.json<MatrixRow>();
}

/** skydive-flow-matrix's CSV header, and optionally the volumes after it. */
export const CSV_HEADER = "protocol,server,server_ip,port,server_proc,server_procname,client,client_ip,client_proc,client_procname";
const VOLUME_HEADER = "client_to_server_bytes,server_to_client_bytes,client_to_server_packets,server_to_client_packets,flows";

const csvField = (v: unknown) => {
  const s = String(v ?? "");
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export function matrixCsv(rows: MatrixRow[], volumes: boolean): string {
  const lines = [volumes ? `${CSV_HEADER},${VOLUME_HEADER}` : CSV_HEADER];
  for (const r of rows) {
    const cells: unknown[] = [r.Protocol, r.Server, r.ServerIP, r.Port, r.ServerProc, r.ServerProcName, r.Client, r.ClientIP, r.ClientProc, r.ClientProcName];
    if (volumes) cells.push(r.ClientToServerBytes, r.ServerToClientBytes, r.ClientToServerPackets, r.ServerToClientPackets, r.Flows);
    lines.push(cells.map(csvField).join(","));
  }
  return `${lines.join("\n")}\n`;
}

const q = (s: string) => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;

/** A cluster per host, a node per process on it, an edge client process -> server process "PROTO : ip:port". */
export function matrixDot(rows: MatrixRow[]): string {
  const hosts = new Map<string, Set<string>>();
  const add = (host: string, proc: string) => (hosts.get(host) ?? hosts.set(host, new Set()).get(host)!).add(proc);
  const id = (host: string, proc: string) => q(`${host}/${proc}`);
  for (const r of rows) {
    add(r.Server, r.ServerProcName || r.ServerProc || "?");
    add(r.Client, r.ClientProcName || r.ClientProc || "?");
  }
  const out = ["digraph flowmatrix {", "  overlap=false; ranksep=1; nodesep=0.7;"];
  let i = 0;
  for (const [host, procs] of hosts) {
    out.push(`  subgraph cluster_${i++} {`, `    label=${q(host)}; fontsize=24; style=filled; color=lightgray;`);
    for (const p of procs) out.push(`    ${id(host, p)} [label=${q(p)}, shape=component, style=filled, fillcolor=orange];`);
    out.push("  }");
  }
  const edges = new Set<string>();
  for (const r of rows)
    edges.add(
      `  ${id(r.Client, r.ClientProcName || r.ClientProc || "?")} -> ${id(r.Server, r.ServerProcName || r.ServerProc || "?")} [label=${q(`${r.Protocol} : ${r.ServerIP}:${r.Port}`)}];`,
    );
  out.push(...edges, "}");
  return `${out.join("\n")}\n`;
}
