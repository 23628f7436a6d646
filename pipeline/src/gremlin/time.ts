// Time arguments of Context()/At(): a point in time and an optional duration before it, as Skydive read
// them. A time is unix seconds (unix ms when above 2^31 - 1), a Go duration relative to now ('-1h30m'),
// a date string (RFC 1123 or ISO 8601), or NOW; a duration is seconds, a Go duration string, or FOREVER.
import { GremlinError, type Arg } from "./parse.js";

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = /^([-+]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+$/;

/** A Go duration ('1h30m', '-5m', '300ms') in ms, or undefined when the text is not one. */
export function goDuration(text: string): number | undefined {
  if (text === "0") return 0;
  const m = DURATION.exec(text);
  if (!m) return undefined;
  let ms = 0;
  for (const part of text.slice(m[1]!.length).matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g)) ms += Number(part[1]) * UNITS[part[2]!]!;
  return m[1] === "-" ? -ms : ms;
}

const MAX_INT32 = 2 ** 31 - 1;

export function timeArg(a: Arg, now: number): number {
  if (a.kind === "word" && a.value === "NOW") return now;
  if (a.kind === "number") return a.value > MAX_INT32 ? a.value : a.value * 1000;
  if (a.kind === "string") {
    const rel = goDuration(a.value);
    if (rel !== undefined) return now + rel;
    const t = Date.parse(a.value);
    if (!Number.isNaN(t)) return t;
  }
  throw new GremlinError(
    `expected a time at ${a.pos} (unix seconds or ms, a duration relative to now such as '-1h', a date, or NOW)`,
    a.pos,
    "a time such as '-1h', 1700000000 or NOW",
  );
}

/** A duration in ms; FOREVER is Infinity. */
export function durationArg(a: Arg): number {
  if (a.kind === "word" && a.value === "FOREVER") return Infinity;
  if (a.kind === "number" && a.value >= 0) return a.value * 1000;
  if (a.kind === "string") {
    const d = goDuration(a.value);
    if (d !== undefined && d >= 0) return d;
  }
  throw new GremlinError(`expected a duration at ${a.pos} (seconds, a duration such as '1h', or FOREVER)`, a.pos, "a duration such as 3600, '1h' or FOREVER");
}
