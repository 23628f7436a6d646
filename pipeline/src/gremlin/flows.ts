// Flows in Gremlin, answered by ClickHouse: G.Flows(), V().Flows() and the steps after them become one SQL
// query over the flows table (filters, sort, range, dedup, count, sums, values pushed down); only the steps
// that need the graph (CaptureNode, Hops, Nodes, In, Out, Both) or groups read rows back.
// A flow is the latest update of its UUID in the time context, in Skydive's nested shape.
import { GremlinError, type Arg } from "./parse.js";
import { numberArg, scalar, stringArg } from "./predicates.js";

/** Where flow queries run: the flows table and its column types. */
export interface FlowStore {
  /** Fully qualified table name (db.flows). */
  readonly table: string;
  /** Column name -> ClickHouse type. */
  columns(): Promise<Map<string, string>>;
  query<T = Record<string, unknown>>(sql: string, params: Record<string, unknown>): Promise<T[]>;
}

/** The time window flows must have been active in, and the instant their state is read at. */
export interface FlowWindow {
  /** Flows whose Last is at or after this (ms). */
  from: number;
  /** Flows that started by this, in their state as of this (ms). */
  to: number;
}

export interface FlowQuery {
  window: FlowWindow;
  /** SQL conditions (ANDed), with their parameters: on a flow's identity (the same in every update, so
   *  applied before taking each flow's latest update, where the table's indexes help), or on what changes
   *  between updates (metrics, Last, FinishType: applied to the latest update). */
  where: { sql: string; late: boolean }[];
  params: Record<string, unknown>;
  order?: { key: string; desc: boolean };
  offset?: number;
  limit?: number;
  /** Keys one flow is kept per (LIMIT 1 BY); default none beyond UUID. */
  dedup?: string[];
}

/** Edit distance, for suggesting the key that was meant. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

const quoteId = (c: string) => `"${c.replace(/"/g, '""')}"`;
/** Keys that stand for both ends (Skydive's shortcuts). */
const BOTH_ENDS = new Set(["Link", "Network", "Transport"]);
const SKIP = new Set(["InsertedAt"]);

export class FlowSql {
  private n = 0;
  constructor(
    private readonly columns: Map<string, string>,
    private readonly pos: number,
  ) {}

  param(q: FlowQuery, type: string, value: unknown): string {
    const name = `p${Object.keys(q.params).length}_${this.n++}`;
    q.params[name] = value;
    return `{${name}:${type}}`;
  }

  /** The columns a key stands for: itself, or the A and B of a shortcut. */
  columnsOf(key: string, at: number): string[] {
    if (this.columns.has(key) && !SKIP.has(key)) return [key];
    if (BOTH_ENDS.has(key)) return [`${key}.A`, `${key}.B`];
    const close = [...this.columns.keys()]
      .map((c) => [c, distance(c.toLowerCase(), key.toLowerCase())] as const)
      .filter(([, d]) => d <= Math.max(2, Math.floor(key.length / 4)))
      .sort((a, b) => a[1] - b[1])
      .slice(0, 3)
      .map(([c]) => c);
    throw new GremlinError(
      `unknown flow key '${key}' at ${at}${close.length ? `; did you mean ${close.join(", ")}?` : ""}`,
      at,
      "a flow field such as Network.A",
    );
  }

  private typeOf(col: string): string {
    return this.columns.get(col)!.replace(/^LowCardinality\((.*)\)$/, "$1");
  }

  /** A literal as a typed SQL parameter for a column. */
  private value(q: FlowQuery, col: string, a: Arg): string {
    const v = scalar(a, "a value", a.pos);
    const type = this.typeOf(col);
    if (type === "IPv6") {
      if (typeof v !== "string") throw new GremlinError(`${col} is an address: expected a string at ${a.pos}`, a.pos, "an address");
      return `toIPv6(${this.param(q, "String", v)})`;
    }
    if (type.startsWith("DateTime64")) return `fromUnixTimestamp64Milli(${this.param(q, "Int64", numberArg(a, "a time (ms)", a.pos))})`;
    if (/^U?Int|^Float/.test(type)) {
      if (typeof v !== "number") throw new GremlinError(`${col} is a number: expected a number at ${a.pos}, found ${JSON.stringify(v)}`, a.pos, "a number");
      return this.param(q, type, v);
    }
    if (type.startsWith("Enum")) return this.param(q, "String", String(v));
    return this.param(q, "String", typeof v === "string" ? v : String(v));
  }

  private ipRange(q: FlowQuery, col: string, a: Arg & { kind: "call" }, v4only: boolean): string {
    if (this.typeOf(col) !== "IPv6") throw new GremlinError(`${a.name} applies to addresses; ${col} is not one (at ${a.pos})`, a.pos);
    const cidr = stringArg(a.args[0], "a CIDR", a.pos);
    const [addr = "", bits] = cidr.split("/");
    const v4 = /^\d+\.\d+\.\d+\.\d+$/.test(addr);
    const prefix = Number(bits ?? (v4 ? 32 : 128));
    if ((v4only && !v4) || (!v4 && !addr.includes(":")) || !Number.isInteger(prefix) || prefix < 0 || prefix > (v4 ? 32 : 128))
      throw new GremlinError(`expected an ${v4only ? "IPv4 " : ""}CIDR at ${a.pos}, found ${JSON.stringify(cidr)}`, a.pos, "a CIDR such as '198.18.0.0/15'");
    const range = `IPv6CIDRToRange(toIPv6(${this.param(q, "String", v4 ? `::ffff:${addr}` : addr)}), ${this.param(q, "UInt8", v4 ? 96 + prefix : prefix)})`;
    return `(${quoteId(col)} >= tupleElement(${range}, 1) AND ${quoteId(col)} <= tupleElement(${range}, 2))`;
  }

  /** One column against a literal or a predicate. */
  private condition(q: FlowQuery, col: string, a: Arg): string {
    const c = quoteId(col);
    if (a.kind !== "call") return `${c} = ${this.value(q, col, a)}`;
    const arg = (i: number) => {
      const x = a.args[i];
      if (!x) throw new GremlinError(`${a.name} is missing argument ${i + 1} at ${a.pos}`, a.pos);
      return this.value(q, col, x);
    };
    switch (a.name) {
      case "NE":
      case "NEE":
        return `${c} != ${arg(0)}`;
      case "Within":
      case "Without":
        if (a.args.length === 0) throw new GremlinError(`${a.name} needs at least one value at ${a.pos}`, a.pos);
        return `${c} ${a.name === "Without" ? "NOT " : ""}IN (${a.args.map((_, i) => arg(i)).join(", ")})`;
      case "Regex":
        return `match(toString(${c}), ${this.param(q, "String", `^(?:${stringArg(a.args[0], "a regular expression", a.pos)})$`)})`;
      case "Lt":
        return `${c} < ${arg(0)}`;
      case "Gt":
        return `${c} > ${arg(0)}`;
      case "Lte":
        return `${c} <= ${arg(0)}`;
      case "Gte":
        return `${c} >= ${arg(0)}`;
      case "Inside":
        return `(${c} > ${arg(0)} AND ${c} < ${arg(1)})`;
      case "Between":
        return `(${c} >= ${arg(0)} AND ${c} < ${arg(1)})`;
      case "Outside":
        return `(${c} < ${arg(0)} OR ${c} > ${arg(1)})`;
      case "IPV4Range":
      case "IPRange":
        return this.ipRange(q, col, a, a.name === "IPV4Range");
      default:
        throw new GremlinError(`${a.name}(…) is not a predicate here at ${a.pos}`, a.pos, "a value or a predicate");
    }
  }

  /** Whether a condition on these keys must wait for each flow's latest update. */
  static late(keys: string[]): boolean {
    return keys.some((k) => /^(Metric|LastUpdateMetric|TCPMetric)\b|^(Last|FinishType|Time)$/.test(k));
  }

  /** Has/HasEither pairs as one SQL condition (a shortcut key matches either end). */
  pairs(q: FlowQuery, args: Arg[], any: boolean, step: string): { sql: string; late: boolean } {
    if (args.length === 1) return this.present(q, stringArg(args[0], "a key", this.pos), args[0]!.pos, true);
    const keys: string[] = [];
    if (args.length === 0 || args.length % 2 !== 0)
      throw new GremlinError(`${step} takes key/value pairs, got ${args.length} arguments (at ${this.pos})`, args.at(-1)?.pos ?? this.pos);
    const parts: string[] = [];
    for (let i = 0; i < args.length; i += 2) {
      const key = stringArg(args[i], "a key", this.pos);
      const cols = this.columnsOf(key, args[i]!.pos);
      keys.push(...cols);
      const neg = args[i + 1]!.kind === "call" && ["NE", "NEE", "Without", "Outside"].includes((args[i + 1] as { name: string }).name);
      // A shortcut: a positive predicate holds on either end, a negative one on both.
      const each = cols.map((col) => this.condition(q, col, args[i + 1]!));
      parts.push(each.length === 1 ? each[0]! : `(${each.join(neg ? " AND " : " OR ")})`);
    }
    return { sql: parts.length === 1 ? parts[0]! : `(${parts.join(any ? " OR " : " AND ")})`, late: FlowSql.late(keys) };
  }

  /** HasKey/HasNot: a field is present when it is not its type's default (an absent layer is empty). */
  present(_q: FlowQuery, key: string, at: number, present: boolean): { sql: string; late: boolean } {
    const names = this.columnsOf(key, at);
    const cols = names.map((c) => `${quoteId(c)} != defaultValueOfArgumentType(${quoteId(c)})`);
    const any = cols.length === 1 ? cols[0]! : `(${cols.join(" OR ")})`;
    return { sql: present ? any : `NOT ${any}`, late: FlowSql.late(names) };
  }

  /** The SELECT list of a flow: nested names kept dotted, addresses as text (IPv4 without ::ffff:), times in ms. */
  selectList(): string {
    return [...this.columns.entries()]
      .filter(([c]) => !SKIP.has(c))
      .map(([c, t]) => {
        const type = t.replace(/^LowCardinality\((.*)\)$/, "$1");
        const id = quoteId(c);
        if (type === "IPv6") return `if(${id} = toIPv6('::'), '', replaceRegexpOne(IPv6NumToString(${id}), '^::ffff:', '')) AS ${id}`;
        if (type.startsWith("DateTime64")) return `toUnixTimestamp64Milli(${id}) AS ${id}`;
        return id;
      })
      .join(", ");
  }

  /** The flows of a query: one row per UUID (its latest update in the window), then order, dedup, range. */
  flowsSubquery(table: string, q: FlowQuery, select = "*"): string {
    const w = q.window;
    const from = this.param(q, "Int64", w.from);
    const to = this.param(q, "Int64", w.to);
    const early = [
      `Time >= fromUnixTimestamp64Milli(${from})`,
      `Time <= fromUnixTimestamp64Milli(${to})`,
      `Start <= fromUnixTimestamp64Milli(${to})`,
      ...q.where.filter((w) => !w.late).map((w) => w.sql),
    ];
    const late = [`Last >= fromUnixTimestamp64Milli(${from})`, ...q.where.filter((w) => w.late).map((w) => w.sql)];
    let sql = `SELECT ${select} FROM (SELECT * FROM (SELECT * FROM ${table} WHERE ${early.join(" AND ")} ORDER BY Time DESC LIMIT 1 BY UUID) WHERE ${late.join(" AND ")})`;
    if (q.dedup?.length) sql = `SELECT * FROM (${sql} ORDER BY Last DESC LIMIT 1 BY ${q.dedup.map(quoteId).join(", ")})`;
    if (q.order) sql += ` ORDER BY ${quoteId(q.order.key)} ${q.order.desc ? "DESC" : "ASC"}, UUID`;
    if (q.limit !== undefined || q.offset) sql += ` LIMIT ${q.limit ?? 1e12} OFFSET ${q.offset ?? 0}`;
    return sql;
  }
}

/** The volumes of one update period of a flow (Skydive's Metric of Metrics()). */
export interface FlowMetric {
  Start: number;
  Last: number;
  ABPackets: number;
  ABBytes: number;
  BAPackets: number;
  BABytes: number;
}

const METRIC_SUMS = `sum(ABPackets) AS ABPackets, sum(ABBytes) AS ABBytes, sum(BAPackets) AS BAPackets, sum(BABytes) AS BABytes`;

/**
 * Each update period of the selected flows within the window (one row per flow update): the SQL of
 * Metrics(), which Sum() and Aggregates() fold further in ClickHouse.
 */
export function flowMetricsSql(sql: FlowSql, table: string, q: FlowQuery): string {
  const from = sql.param(q, "Int64", q.window.from);
  const to = sql.param(q, "Int64", q.window.to);
  return `SELECT UUID, toUnixTimestamp64Milli("LastUpdateMetric.Start") AS Start, toUnixTimestamp64Milli(Time) AS Last,
      "LastUpdateMetric.ABPackets" AS ABPackets, "LastUpdateMetric.ABBytes" AS ABBytes,
      "LastUpdateMetric.BAPackets" AS BAPackets, "LastUpdateMetric.BABytes" AS BABytes
    FROM ${table}
    WHERE Time >= fromUnixTimestamp64Milli(${from}) AND Time <= fromUnixTimestamp64Milli(${to})
      AND UUID IN (${sql.flowsSubquery(table, q, "UUID")})`;
}

/** Metrics() folded: every period summed (Sum()), or per time slice of `sliceMs` (Aggregates()). */
export function foldedMetricsSql(metrics: string, sliceMs?: number): string {
  if (sliceMs === undefined) return `SELECT min(Start) AS Start, max(Last) AS Last, ${METRIC_SUMS} FROM (${metrics})`;
  return `SELECT Slice AS Start, Slice + ${sliceMs} AS Last, ${METRIC_SUMS}
    FROM (SELECT intDiv(Last - 1, ${sliceMs}) * ${sliceMs} AS Slice, ABPackets, ABBytes, BAPackets, BABytes FROM (${metrics}))
    GROUP BY Slice ORDER BY Slice`;
}

/** A metric row from ClickHouse (64-bit numbers may come quoted) as numbers. */
export function metricOf(r: Record<string, unknown>): FlowMetric {
  return {
    Start: Number(r.Start),
    Last: Number(r.Last),
    ABPackets: Number(r.ABPackets),
    ABBytes: Number(r.ABBytes),
    BAPackets: Number(r.BAPackets),
    BABytes: Number(r.BABytes),
  };
}

/** Rows with dotted column names as nested objects (Skydive's flow shape); empty layers become null. */
export function nestFlow(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    const parts = k.split(".");
    let o = out;
    for (const p of parts.slice(0, -1)) o = (o[p] ??= {}) as Record<string, unknown>;
    o[parts.at(-1)!] = v;
  }
  for (const layer of ["Link", "Network", "Transport", "ICMP"]) {
    const l = out[layer] as Record<string, unknown> | undefined;
    if (l && !l.Protocol && !l.Type) out[layer] = null;
  }
  return out;
}

export const flowOrderDefault = "Last";
