// A TEST STAND-IN FOR clickhouse-server: ClickHouse's HTTP interface served by a Node process hosting the
// real engine (chDB, ClickHouse in-process) on one data directory. It exists because this machine has no
// usable ClickHouse server and chDB binds one data directory to one process: several pipeline processes
// can share a database only through a server, and only a separate process can go away and come back.
//
//   node --import tsx test/harness/clickhouse-server/server.ts --data DIR [--port N] [--host H] [--query-log FILE] [--exit-with-stdin]
//   prints: "clickhouse-server stand-in ready: http://127.0.0.1:PORT data=DIR version=26.x"
//
// What it implements is what @clickhouse/client 1.23 sends (node_base_connection.ts, url.ts):
// - GET /ping (and GET / without a query, /replicas_status) -> "Ok.\n".
// - GET or POST /?query=... with the SQL in the `query` URL parameter, or in the body when there is none;
//   when both are given the body continues the query, as on a server: for `INSERT ... FORMAT F` and
//   `INSERT ... SELECT ... FROM input('structure') FORMAT F` it is the data. GET runs with readonly=2.
// - URL parameters: `database` (USE), `query_id` (echoed), `default_format` (output format of a query
//   without FORMAT), `param_<name>` (the `{name:Type}` binding, passed verbatim as `SET param_<name>`, so the
//   engine parses the value exactly as a server does), every other parameter as a setting of the query
//   (`insert_deduplication_token`, `date_time_input_format`, ...); HTTP transport parameters are handled
//   here and not passed on (`enable_http_compression`, `wait_end_of_query`, ...).
// - Request bodies with Content-Encoding gzip/deflate/br (zstd where node has it); response bodies
//   compressed with gzip/deflate/br when the query sets enable_http_compression=1 and Accept-Encoding asks.
// - Headers: X-ClickHouse-Query-Id, X-ClickHouse-Format, X-ClickHouse-Timezone, X-ClickHouse-Server-Display-Name,
//   X-ClickHouse-Summary (written_rows/bytes from the engine's InsertedRows/InsertedBytes counters), and on
//   failure X-ClickHouse-Exception-Code with the body "Code: N. DB::Exception: ... (TYPE) (version V)".
//
// How data reaches the engine: a text format (JSONEachRow, CSV, TSV, Values...) is appended inline after
// the INSERT, as chDB's own connection does; any other payload (Avro, RowBinary, Parquet..., and input())
// is written to a temporary file under DATA/http-tmp and the query is rewritten to read it with file():
// `... FROM input('S') FORMAT F` -> `... FROM file('tmp', 'F', 'S')`, `INSERT INTO t (c) FORMAT F` ->
// `INSERT INTO t (c) SELECT * FROM file('tmp', 'F')`.
//
// Every request gets a fresh chDB connection (its own settings and parameters, like a server's per-query
// context) and requests run one at a time: chDB's parameter state is not isolated between concurrent
// connections (see node_modules/chdb/index.js, runExclusiveParam). One more connection stays open for the
// life of the process so the engine is never torn down between requests.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import zlib from "node:zlib";
import { Session } from "chdb";

const { values: args } = parseArgs({
  options: {
    data: { type: "string" },
    port: { type: "string", default: "0" },
    host: { type: "string", default: "127.0.0.1" },
    /** One JSON line per query (time, id, deduplication token, start of the SQL, rows written, error). */
    "query-log": { type: "string" },
    "exit-with-stdin": { type: "boolean", default: false },
    /** HTTPS with this certificate and key; with tls-ca, clients must present a certificate it signed. */
    "tls-cert": { type: "string" },
    "tls-key": { type: "string" },
    "tls-ca": { type: "string" },
  },
});
if (!args.data) {
  console.error("usage: server.ts --data DIR [--port N] [--host H] [--query-log FILE] [--exit-with-stdin]");
  process.exit(2);
}
const dataDir = resolve(args.data);
const tmpDir = join(dataDir, "http-tmp");

/** URL parameters that are HTTP transport, not settings of the query. */
const TRANSPORT_PARAMS = new Set([
  "query",
  "database",
  "default_format",
  "query_id",
  "session_id",
  "session_timeout",
  "session_check",
  "user",
  "password",
  "quota_key",
  "role",
  "compress",
  "decompress",
  "buffer_size",
  "wait_end_of_query",
  "stacktrace",
  "client_protocol_version",
  "enable_http_compression",
  "http_zlib_compression_level",
  "http_native_compression_disable_checksumming_on_decompress",
  "send_progress_in_http_headers",
  "http_headers_progress_interval_ms",
  "http_response_buffer_size",
  "http_wait_end_of_query",
]);

/** Formats whose payload can follow the query text inline; anything else goes through a file. */
const TEXT_FORMAT = /^(JSON|CSV|TSV|TabSeparated|Values|CustomSeparated|LineAsString|Regexp|TSKV|Markdown)/i;
const FORMAT_AT_END = /\s+FORMAT\s+([A-Za-z][A-Za-z0-9_]*)\s*;?\s*$/i;
const INPUT_CALL = /\binput\s*\(\s*('(?:[^'\\]|\\.)*')\s*\)/i;

/** HTTP status of a ClickHouse error code, as the server maps the common ones. */
const HTTP_STATUS: Record<number, number> = {
  46: 404, // UNKNOWN_FUNCTION
  47: 404, // UNKNOWN_IDENTIFIER
  50: 404, // UNKNOWN_TYPE
  60: 404, // UNKNOWN_TABLE
  81: 404, // UNKNOWN_DATABASE
  62: 400, // SYNTAX_ERROR
  115: 400, // UNKNOWN_SETTING
  456: 400, // UNKNOWN_QUERY_PARAMETER
  164: 403, // READONLY
};

const quote = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;

class HttpError extends Error {
  constructor(
    readonly code: number,
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

// The engine: one connection held for the process's life; opening it also claims the data directory.
mkdirSync(dataDir, { recursive: true });
rmSync(tmpDir, { recursive: true, force: true });
mkdirSync(tmpDir, { recursive: true });
const anchor = new Session(dataDir);
const [engineVersion, timezone] = (await anchor.queryAsync("SELECT version(), timezone()", { format: "TabSeparated" })).text().trim().split("\t") as [
  string,
  string,
];

/** Requests run one at a time, in arrival order. */
let chain: Promise<unknown> = Promise.resolve();
function exclusive<T>(fn: () => Promise<T>): Promise<T> {
  const next = chain.then(fn);
  chain = next.catch(() => undefined);
  return next;
}

async function insertedCounters(s: Session): Promise<[number, number]> {
  const r = await s.queryAsync("SELECT event, value FROM system.events WHERE event IN ('InsertedRows', 'InsertedBytes')", { format: "JSONEachRow" });
  const m = new Map(
    r
      .text()
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { event: string; value: string })
      .map((e) => [e.event, Number(e.value)]),
  );
  return [m.get("InsertedRows") ?? 0, m.get("InsertedBytes") ?? 0];
}

interface Execution {
  body: Buffer;
  format: string;
  summary: Record<string, string>;
}

/** Runs one request's SQL (with its data, if any) on a fresh connection. */
async function execute(sql: string, data: Buffer | undefined, params: URLSearchParams, readonly: boolean): Promise<Execution> {
  const sets: string[] = [];
  for (const [k, v] of params) {
    if (TRANSPORT_PARAMS.has(k)) continue;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new HttpError(115, "UNKNOWN_SETTING", `Unknown setting '${k}'`);
    // param_<name> is a query parameter: its value is handed over verbatim, like the server does.
    sets.push(`${k} = ${quote(v)}`);
  }
  if (readonly) sets.push("readonly = 2");

  const defaultFormat = params.get("default_format") || "TabSeparated";
  let text = sql.trim();
  let file: string | undefined;
  const isInsert = /^INSERT\b/i.test(text);
  const fmt = FORMAT_AT_END.exec(text);
  if (isInsert && fmt && data !== undefined) {
    const format = fmt[1]!;
    const head = text.slice(0, fmt.index);
    if (INPUT_CALL.test(head)) {
      file = join(tmpDir, `${randomUUID()}.${format.toLowerCase()}`);
      writeFileSync(file, data);
      text = head.replace(INPUT_CALL, (_m, structure: string) => `file(${quote(file!)}, ${quote(format)}, ${structure})`);
    } else if (TEXT_FORMAT.test(format) && data.length > 0) {
      text = `${text}\n${data.toString("utf8")}`;
    } else {
      file = join(tmpDir, `${randomUUID()}.${format.toLowerCase()}`);
      writeFileSync(file, data);
      text = `${head} SELECT * FROM file(${quote(file)}, ${quote(format)})`;
    }
  } else if (data !== undefined && data.length > 0) {
    text = `${text}\n${data.toString("utf8")}`;
  }
  const outFormat = !isInsert && fmt ? fmt[1]! : defaultFormat;

  const t0 = process.hrtime.bigint();
  const s = new Session(dataDir);
  try {
    if (sets.length > 0) await s.queryAsync(`SET ${sets.join(", ")}`);
    const database = params.get("database");
    if (database) await s.queryAsync(`USE \`${database.replace(/\\/g, "\\\\").replace(/`/g, "\\`")}\``);
    const before = isInsert ? await insertedCounters(s) : undefined;
    const r = await s.queryAsync(text, { format: outFormat });
    const after = before ? await insertedCounters(s) : undefined;
    const body = Buffer.from(r.bytes());
    const [wr, wb] = before && after ? [after[0] - before[0], after[1] - before[1]] : [0, 0];
    return {
      body,
      format: outFormat,
      summary: {
        read_rows: String(isInsert ? wr : r.rowsRead),
        read_bytes: String(isInsert ? wb : r.bytesRead),
        written_rows: String(wr),
        written_bytes: String(wb),
        total_rows_to_read: "0",
        result_rows: String(isInsert ? 0 : r.rowsRead),
        result_bytes: String(isInsert ? 0 : body.length),
        elapsed_ns: String(process.hrtime.bigint() - t0),
      },
    };
  } finally {
    s.close();
    if (file) rmSync(file, { force: true });
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks);
  const enc = String(req.headers["content-encoding"] ?? "").toLowerCase();
  if (!enc || enc === "identity") return raw;
  if (enc === "gzip") return zlib.gunzipSync(raw);
  if (enc === "deflate") return zlib.inflateSync(raw);
  if (enc === "br") return zlib.brotliDecompressSync(raw);
  const z = zlib as unknown as { zstdDecompressSync?: (b: Buffer) => Buffer };
  if (enc === "zstd" && z.zstdDecompressSync) return z.zstdDecompressSync(raw);
  throw new HttpError(1001, "UNKNOWN_EXCEPTION", `Unknown HTTP compression method '${enc}' (not supported by the test stand-in)`);
}

function compress(body: Buffer, req: IncomingMessage, params: URLSearchParams): [Buffer, string | undefined] {
  if (params.get("enable_http_compression") !== "1") return [body, undefined];
  const accept = String(req.headers["accept-encoding"] ?? "").toLowerCase();
  if (/\bgzip\b/.test(accept)) return [zlib.gzipSync(body), "gzip"];
  if (/\bdeflate\b/.test(accept)) return [zlib.deflateSync(body), "deflate"];
  if (/\bbr\b/.test(accept)) return [zlib.brotliCompressSync(body), "br"];
  return [body, undefined];
}

const contentType = (format: string) =>
  /^JSON/i.test(format)
    ? "application/json; charset=UTF-8"
    : /^(TSV|TabSeparated)/i.test(format)
      ? "text/tab-separated-values; charset=UTF-8"
      : /^CSV/i.test(format)
        ? "text/csv; charset=UTF-8"
        : "text/plain; charset=UTF-8";

function fail(res: ServerResponse, queryId: string, err: unknown): void {
  let code: number, message: string, status: number;
  if (err instanceof HttpError) [code, message, status] = [err.code, `Code: ${err.code}. DB::Exception: ${err.message}. (${err.type})`, err.status];
  else {
    const text = err instanceof Error ? err.message : String(err);
    const m = /^Code: (\d+)\./.exec(text);
    code = m ? Number(m[1]) : 1001;
    message = m ? text.trim() : `Code: 1001. DB::Exception: ${text}. (STD_EXCEPTION)`;
    status = HTTP_STATUS[code] ?? 500;
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, {
    "Content-Type": "text/plain; charset=UTF-8",
    "X-ClickHouse-Query-Id": queryId,
    "X-ClickHouse-Timezone": timezone,
    "X-ClickHouse-Server-Display-Name": "skystream-test-standin",
    "X-ClickHouse-Exception-Code": String(code),
  });
  res.end(`${message} (version ${engineVersion} (chDB, skystream test stand-in))\n`);
}

function logQuery(queryId: string, sql: string, data: Buffer | undefined, params: URLSearchParams, out: Execution | undefined, err?: unknown): void {
  if (!args["query-log"]) return;
  const line = {
    t: new Date().toISOString(),
    query_id: queryId,
    token: params.get("insert_deduplication_token") ?? undefined,
    sql: sql.replace(/\s+/g, " ").slice(0, 100),
    data: data && data.length < 2048 && /FORMAT\s+JSON/i.test(sql) ? data.toString("utf8") : undefined,
    written_rows: out ? Number(out.summary.written_rows) : undefined,
    error: err === undefined ? undefined : (err instanceof Error ? err.message : String(err)).slice(0, 200),
  };
  appendFileSync(args["query-log"], JSON.stringify(line) + "\n");
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://localhost");
  const params = url.searchParams;
  const queryId = params.get("query_id") || randomUUID();
  try {
    if (url.pathname === "/ping" || url.pathname === "/replicas_status" || (url.pathname === "/" && req.method === "GET" && !params.has("query"))) {
      req.resume();
      res.writeHead(200, { "Content-Type": "text/html; charset=UTF-8" }).end("Ok.\n");
      return;
    }
    if (url.pathname !== "/") throw new HttpError(1001, "UNKNOWN_EXCEPTION", `There is no handler ${url.pathname} (test stand-in)`, 404);
    if (req.method !== "GET" && req.method !== "POST") throw new HttpError(1001, "UNKNOWN_EXCEPTION", `Method ${req.method} not allowed`, 405);
    if (params.get("decompress") === "1" || params.get("compress") === "1")
      throw new HttpError(1001, "UNKNOWN_EXCEPTION", "ClickHouse native compression (compress/decompress=1) is not supported by the test stand-in");
    const body = await readBody(req);
    const urlQuery = params.get("query");
    const [sql, data] =
      urlQuery !== null ? [urlQuery, body.length > 0 || /^\s*INSERT\b/i.test(urlQuery) ? body : undefined] : [body.toString("utf8"), undefined];
    if (!sql.trim()) throw new HttpError(62, "SYNTAX_ERROR", "Empty query");
    const out = await exclusive(() => execute(sql, data, params, req.method === "GET")).catch((err: unknown) => {
      logQuery(queryId, sql, data, params, undefined, err);
      throw err;
    });
    logQuery(queryId, sql, data, params, out);
    const [payload, encoding] = compress(out.body, req, params);
    res.writeHead(200, {
      "Content-Type": contentType(out.format),
      "X-ClickHouse-Query-Id": queryId,
      "X-ClickHouse-Format": out.format,
      "X-ClickHouse-Timezone": timezone,
      "X-ClickHouse-Server-Display-Name": "skystream-test-standin",
      "X-ClickHouse-Summary": JSON.stringify(out.summary),
      ...(encoding ? { "Content-Encoding": encoding } : {}),
    });
    res.end(payload);
  } catch (err) {
    fail(res, queryId, err);
  }
}

const server =
  args["tls-cert"] && args["tls-key"]
    ? createHttpsServer(
        {
          cert: readFileSync(args["tls-cert"]),
          key: readFileSync(args["tls-key"]),
          ...(args["tls-ca"] ? { ca: readFileSync(args["tls-ca"]), requestCert: true, rejectUnauthorized: true } : {}),
        },
        (req, res) => void handle(req, res),
      )
    : createServer((req, res) => void handle(req, res));
server.keepAliveTimeout = 10_000; // advertised as "Keep-Alive: timeout=10", as a server does
server.listen(Number(args.port), args.host, () => {
  const { port } = server.address() as { port: number };
  console.log(`clickhouse-server stand-in ready: ${args["tls-cert"] ? "https" : "http"}://${args.host}:${port} data=${dataDir} version=${engineVersion}`);
});

let stopping = false;
async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  server.close();
  server.closeAllConnections();
  await chain;
  anchor.close();
  process.exit(code);
}
process.on("SIGTERM", () => void shutdown(0));
process.on("SIGINT", () => void shutdown(0));
if (args["exit-with-stdin"]) {
  // The test process that started this one is gone (even by SIGKILL): go too.
  process.stdin.on("end", () => void shutdown(0)).on("close", () => void shutdown(0));
  process.stdin.resume();
}
