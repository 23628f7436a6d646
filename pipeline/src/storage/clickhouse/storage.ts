// ClickHouse storage: @clickhouse/client is the only access path, over chDB (embedded, default) or a
// server URL. Same SQL for both; only how an Avro payload reaches the engine differs (a spool file
// read with file() in-process, the request body read with input() over HTTP).
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Readable } from "node:stream";
import { randomUUID } from "node:crypto";
import { createClient, type ClickHouseClient, type ClickHouseSettings } from "@clickhouse/client";
import { Agent } from "node:https";
import { SkystreamError, tlsConnectOptions, type Logger } from "@skystream/common";
import type { ClickhouseConfig } from "./config.js";

export interface AvroInsert {
  /** `INSERT INTO t (cols) SELECT <exprs>` — the part before FROM. */
  insertSelect: string;
  /** The columns the Avro payload is read as, `name Type, ...`. */
  structure: string;
  /** Avro object container files; several let the engine parse them in parallel. */
  containers: Buffer[];
  settings?: ClickHouseSettings;
}

/** Rows already serialized in a ClickHouse input format (JSONEachRow, ...), for `table (columns)`. */
export interface RawInsert {
  table: string;
  columns: readonly string[];
  format: "JSONEachRow";
  data: Buffer;
  settings?: ClickHouseSettings;
}

export interface Storage {
  readonly kind: "chdb" | "http";
  readonly client: ClickHouseClient;
  readonly database: string;
  /** The cluster DDL and inserts target (clickhouse.cluster); empty on a single server or the embedded engine. */
  readonly cluster: string;
  insertAvro(ins: AvroInsert): Promise<void>;
  /** Inserts serialized rows without building objects (the embedded engine reads them from a spool file). */
  insertRaw(ins: RawInsert): Promise<void>;
  healthcheck(): Promise<void>;
  close(): Promise<void>;
}

const quote = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
const columnList = (cols: readonly string[]) => cols.map((c) => `\`${c}\``).join(", ");
/**
 * A query's own SETTINGS clause. The embedded connection applies clickhouse_settings with SET on its one
 * session, where they would stay for every later query (a deduplication token among them).
 */
const settingsClause = (settings: ClickHouseSettings | undefined) => {
  const entries = Object.entries(settings ?? {}).filter(([, v]) => v !== undefined);
  return entries.length === 0
    ? ""
    : ` SETTINGS ${entries.map(([k, v]) => `${k} = ${typeof v === "number" || /^\d+$/.test(String(v)) ? v : quote(String(v))}`).join(", ")}`;
};

class ChdbStorage implements Storage {
  readonly kind = "chdb";
  readonly cluster = "";
  private readonly spool: string;
  constructor(
    readonly client: ClickHouseClient,
    readonly database: string,
    dataPath: string,
  ) {
    this.spool = join(dataPath, "spool");
    rmSync(this.spool, { recursive: true, force: true });
    mkdirSync(this.spool, { recursive: true });
  }

  async insertAvro(ins: AvroInsert): Promise<void> {
    const id = randomUUID();
    const files = ins.containers.map((c, i) => {
      const f = join(this.spool, `${id}-${i}.avro`);
      writeFileSync(f, c);
      return f;
    });
    try {
      const glob = join(this.spool, `${id}-*.avro`);
      await this.client.command({ query: `${ins.insertSelect} FROM file(${quote(glob)}, 'Avro', ${quote(ins.structure)})${settingsClause(ins.settings)}` });
    } finally {
      for (const f of files) rmSync(f, { force: true });
    }
  }

  async insertRaw(ins: RawInsert): Promise<void> {
    const f = join(this.spool, `${randomUUID()}.${ins.format}`);
    writeFileSync(f, ins.data);
    try {
      await this.client.command({
        query:
          `INSERT INTO ${ins.table} (${columnList(ins.columns)}) SELECT * FROM file(${quote(f)}, ${quote(ins.format)})` +
          settingsClause({ use_structure_from_insertion_table_in_table_functions: "1", ...ins.settings }),
      });
    } finally {
      rmSync(f, { force: true });
    }
  }

  async healthcheck(): Promise<void> {
    await this.client.query({ query: "SELECT 1", format: "JSONEachRow" }).then((r) => r.json());
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

class HttpStorage implements Storage {
  readonly kind = "http";
  constructor(
    readonly client: ClickHouseClient,
    readonly database: string,
    readonly cluster: string,
  ) {}

  async insertAvro(ins: AvroInsert): Promise<void> {
    // One request per container: input() reads one stream. Each is its own insert, so a deduplication
    // token is made per container (the same batch always splits the same way).
    const token = ins.settings?.insert_deduplication_token;
    await Promise.all(
      ins.containers.map(async (c, i) => {
        const settings = token && ins.containers.length > 1 ? { ...ins.settings, insert_deduplication_token: `${token}/${i}` } : ins.settings;
        const r = await this.client.exec({
          query: `${ins.insertSelect} FROM input(${quote(ins.structure)}) FORMAT Avro`,
          values: Readable.from([c]),
          clickhouse_settings: settings,
        });
        r.stream.resume();
        await new Promise((res, rej) => r.stream.once("end", res).once("error", rej));
      }),
    );
  }

  async insertRaw(ins: RawInsert): Promise<void> {
    const r = await this.client.exec({
      query: `INSERT INTO ${ins.table} (${columnList(ins.columns)}) FORMAT ${ins.format}`,
      values: Readable.from([ins.data]),
      clickhouse_settings: ins.settings,
    });
    r.stream.resume();
    await new Promise((res, rej) => r.stream.once("end", res).once("error", rej));
  }

  async healthcheck(): Promise<void> {
    const r = await this.client.ping();
    if (!r.success) throw r.error;
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

/** The HTTPS agent of a server connection with TLS: its CA, client certificate, name and checks. */
function httpsAgent(cfg: ClickhouseConfig): Agent {
  if (!cfg.url.startsWith("https://"))
    throw new SkystreamError("SKY_ERR_CH_CONFIG", `clickhouse.tls.enabled needs an https:// clickhouse.url (got ${cfg.url})`);
  return new Agent({ keepAlive: true, ...tlsConnectOptions(cfg.tls, "clickhouse") });
}

/** Opens the storage a config asks for. The embedded engine is loaded only when used. */
export async function openStorage(cfg: ClickhouseConfig, log: Logger): Promise<Storage> {
  if (cfg.url) {
    const client = createClient({
      url: cfg.url,
      ...(cfg.tls.enabled ? { http_agent: httpsAgent(cfg) } : {}),
      username: cfg.username,
      password: cfg.password,
      request_timeout: cfg.request_timeout,
      clickhouse_settings: { date_time_input_format: "best_effort" },
    });
    log.info({ url: cfg.url, database: cfg.database }, "clickhouse: server");
    return new HttpStorage(client, cfg.database, cfg.cluster);
  }
  if (cfg.cluster) throw new SkystreamError("SKY_ERR_CH_CONFIG", `clickhouse.cluster (${cfg.cluster}) needs clickhouse.url: the embedded engine is one server`);
  const path = resolve(cfg.data_path);
  mkdirSync(path, { recursive: true });
  let createChdbConnection: (o: { path: string }) => unknown;
  try {
    ({ createChdbConnection } = (await import("chdb/connection")) as { createChdbConnection: (o: { path: string }) => unknown });
  } catch (err) {
    throw new SkystreamError("SKY_ERR_CH_EMBEDDED", `the embedded ClickHouse engine (npm chdb) cannot load: ${(err as Error).message}`, { cause: err });
  }
  let client: ClickHouseClient;
  try {
    client = createClient({ connection: createChdbConnection({ path }) } as Parameters<typeof createClient>[0]);
    await client.query({ query: "SELECT 1", format: "JSONEachRow" }).then((r) => r.json());
  } catch (err) {
    throw new SkystreamError(
      "SKY_ERR_CH_EMBEDDED",
      `cannot open the embedded ClickHouse data directory ${path}: ${(err as Error).message} (one process owns a data directory at a time)`,
      { cause: err },
    );
  }
  log.info({ path, database: cfg.database }, "clickhouse: embedded (chDB)");
  return new ChdbStorage(client, cfg.database, path);
}
