// What Grafana and its ClickHouse data source do to a dashboard query before ClickHouse sees it, for the
// macros and variables our dashboards use: template variables (${var}, ${var:singlequote}, $var), then the
// data source's macros ($__timeFilter, $__timeInterval, $__fromTime…, $__conditionalAll), as its
// documentation describes their expansion. No Grafana server runs here; this lets a test run the
// dashboards' SQL on the real schema.

export interface QueryContext {
  /** The dashboard's time range, ms since the epoch. */
  from: number;
  to: number;
  /** The panel's interval (what $__interval_s and $__timeInterval use), ms. */
  intervalMs: number;
  /** Template variables: one value, several, or "All" (an array of every value, with all = true). */
  vars?: Record<string, { values: string[]; all?: boolean }>;
}

const sec = (ms: number) => Math.floor(ms / 1000);

/** One macro's argument list, split on top-level commas. */
function args(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "," && depth === 0) {
      out.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(text.slice(start).trim());
  return out;
}

/** Replaces each `name(…)` call (balanced parentheses) with `expand(args)`. */
function replaceCalls(sql: string, name: string, expand: (a: string[]) => string): string {
  let out = "";
  let i = 0;
  for (;;) {
    const at = sql.indexOf(`${name}(`, i);
    if (at < 0) return out + sql.slice(i);
    let depth = 0;
    let end = at + name.length;
    for (; end < sql.length; end++) {
      if (sql[end] === "(") depth++;
      else if (sql[end] === ")" && --depth === 0) break;
    }
    out += sql.slice(i, at) + expand(args(sql.slice(at + name.length + 1, end)));
    i = end + 1;
  }
}

export function expandQuery(sql: string, ctx: QueryContext): string {
  const vars = ctx.vars ?? {};
  // Template variables first (Grafana interpolates before the data source expands its macros).
  let s = sql.replace(/\$\{(\w+)(?::(\w+))?\}|\$(\w+)\b/g, (whole, braced: string | undefined, format: string | undefined, bare: string | undefined) => {
    const name = braced ?? bare!;
    if (name.startsWith("__")) return whole;
    const v = vars[name];
    if (!v) throw new Error(`the query uses $${name}, which the test does not define`);
    if (format === "singlequote") return v.values.map((x) => `'${x.replace(/'/g, "\\'")}'`).join(",");
    return v.all ? "$__all" : v.values.join(",");
  });
  s = replaceCalls(s, "$__conditionalAll", ([cond, v]) => (v === "$__all" ? "1=1" : cond!));
  s = replaceCalls(s, "$__timeFilter_ms", ([c]) => `${c} >= fromUnixTimestamp64Milli(${ctx.from}) AND ${c} <= fromUnixTimestamp64Milli(${ctx.to})`);
  s = replaceCalls(s, "$__timeFilter", ([c]) => `${c} >= toDateTime(${sec(ctx.from)}) AND ${c} <= toDateTime(${sec(ctx.to)})`);
  s = replaceCalls(s, "$__timeInterval_ms", ([c]) => `toStartOfInterval(toDateTime64(${c}, 3), INTERVAL ${ctx.intervalMs} millisecond)`);
  s = replaceCalls(s, "$__timeInterval", ([c]) => `toStartOfInterval(toDateTime(${c}), INTERVAL ${Math.max(1, sec(ctx.intervalMs))} second)`);
  return s
    .replaceAll("$__fromTime_ms", `fromUnixTimestamp64Milli(${ctx.from})`)
    .replaceAll("$__toTime_ms", `fromUnixTimestamp64Milli(${ctx.to})`)
    .replaceAll("$__fromTime", `toDateTime(${sec(ctx.from)})`)
    .replaceAll("$__toTime", `toDateTime(${sec(ctx.to)})`)
    .replaceAll("$__interval_s", String(Math.max(1, sec(ctx.intervalMs))));
}
