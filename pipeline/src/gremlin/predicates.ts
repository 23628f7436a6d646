// Values and predicates in Has(), HasEither(), V(k, v) and friends. A matcher gets the value at the key
// (undefined when the element has no such key). A list value (IPV4, Captures…) matches when one of its
// elements does; the negative predicates (NE, NEE, Without, Outside) hold when none does.
import { BlockList, isIP } from "node:net";
import { GremlinError, type Arg } from "./parse.js";

export type Matcher = (v: unknown) => boolean;

type Scalar = string | number | boolean;

const describeArg = (a: Arg) => (a.kind === "call" ? `${a.name}(…)` : a.kind === "traversal" ? "a traversal" : JSON.stringify(a.value));

/** A literal argument: string, number, TRUE/FALSE. */
export function scalar(a: Arg | undefined, what: string, pos: number): Scalar {
  if (!a) throw new GremlinError(`missing ${what} at ${pos}`, pos, what);
  if (a.kind === "string" || a.kind === "number") return a.value;
  if (a.kind === "word" && (a.value === "TRUE" || a.value === "FALSE")) return a.value === "TRUE";
  throw new GremlinError(`expected ${what} at ${a.pos}, found ${describeArg(a)}`, a.pos, what);
}

export function numberArg(a: Arg | undefined, what: string, pos: number): number {
  const v = scalar(a, what, pos);
  if (typeof v !== "number") throw new GremlinError(`expected ${what} (a number) at ${a!.pos}, found ${JSON.stringify(v)}`, a!.pos, `${what} (a number)`);
  return v;
}

export function stringArg(a: Arg | undefined, what: string, pos: number): string {
  const v = scalar(a, what, pos);
  if (typeof v !== "string") throw new GremlinError(`expected ${what} (a string) at ${a!.pos}, found ${JSON.stringify(v)}`, a!.pos, `${what} (a string)`);
  return v;
}

const eq = (v: unknown, x: Scalar) => v === x || (typeof x === "number" && typeof v === "bigint" && Number(v) === x);
const any = (v: unknown, test: (x: unknown) => boolean) => (Array.isArray(v) ? v.some(test) : test(v));
const num = (v: unknown): number | undefined => (typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : undefined);

/** An IPv4 address as a number, or undefined. */
export function ipv4(s: string): number | undefined {
  let n = 0;
  let parts = 0;
  let start = 0;
  for (let i = 0; i <= s.length; i++) {
    if (i < s.length && s[i] !== ".") continue;
    const b = Number(s.slice(start, i));
    if (i === start || !Number.isInteger(b) || b < 0 || b > 255) return undefined;
    n = n * 256 + b;
    parts++;
    start = i + 1;
  }
  return parts === 4 ? n : undefined;
}

/**
 * The IPv4 addresses an IPV4Range(cidr) or IPRange(cidr) argument with an IPv4 CIDR covers, [lo, hi),
 * so an index of addresses can answer it; undefined for anything else.
 */
export function ipv4Span(a: Arg | undefined): { lo: number; hi: number } | undefined {
  if (a?.kind !== "call" || (a.name !== "IPV4Range" && a.name !== "IPRange") || a.args.length !== 1 || a.args[0]!.kind !== "string") return undefined;
  const [addr, bits] = a.args[0]!.value.split("/");
  const n = ipv4(addr ?? "");
  const prefix = bits === undefined ? 32 : Number(bits);
  if (n === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) return undefined;
  const size = 2 ** (32 - prefix);
  const lo = Math.floor(n / size) * size;
  return { lo, hi: lo + size };
}

function ipRange(cidr: string, pos: number, v4only: boolean): Matcher {
  const [addr, bits] = cidr.split("/");
  const family = isIP(addr ?? "");
  const prefix = bits === undefined ? (family === 6 ? 128 : 32) : Number(bits);
  if (family === 0 || (v4only && family !== 4) || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 6 ? 128 : 32))
    throw new GremlinError(`expected an ${v4only ? "IPv4 " : ""}CIDR at ${pos}, found ${JSON.stringify(cidr)}`, pos, "a CIDR such as '198.18.0.0/15'");
  const bare = (x: unknown) => (typeof x === "string" ? (x.includes("/") ? x.slice(0, x.indexOf("/")) : x) : "");
  if (family === 4) {
    // Integer arithmetic: BlockList.check costs microseconds per address, too much over a large graph.
    const size = 2 ** (32 - prefix);
    const lo = Math.floor(ipv4(addr!)! / size) * size;
    return (v) =>
      any(v, (x) => {
        const n = ipv4(bare(x));
        return n !== undefined && n >= lo && n < lo + size;
      });
  }
  const list = new BlockList();
  list.addSubnet(addr!, prefix, "ipv6");
  return (v) =>
    any(v, (x) => {
      const ip = bare(x);
      return isIP(ip) === 6 && list.check(ip, "ipv6");
    });
}

/** The matcher an argument stands for: a literal is equality, a call a predicate. */
export function matcher(a: Arg): Matcher {
  if (a.kind !== "call") {
    const x = scalar(a, "a value or a predicate", a.pos);
    return (v) => any(v, (e) => eq(e, x));
  }
  const args = a.args;
  const n = (i: number) => numberArg(args[i], `argument ${i + 1} of ${a.name}`, a.pos);
  const need = (count: number) => {
    if (args.length !== count) throw new GremlinError(`${a.name} takes ${count} argument${count > 1 ? "s" : ""} at ${a.pos}, got ${args.length}`, a.pos);
  };
  switch (a.name) {
    case "NE": {
      need(1);
      const x = scalar(args[0], "a value", a.pos);
      return (v) => v !== undefined && !any(v, (e) => eq(e, x));
    }
    case "NEE": {
      need(1);
      const x = scalar(args[0], "a value", a.pos);
      return (v) => v === undefined || !any(v, (e) => eq(e, x));
    }
    case "Within":
    case "Without": {
      if (args.length === 0) throw new GremlinError(`${a.name} needs at least one value at ${a.pos}`, a.pos);
      const xs = args.map((x) => scalar(x, "a value", a.pos));
      const within = (v: unknown) => any(v, (e) => xs.some((x) => eq(e, x)));
      return a.name === "Within" ? within : (v) => v !== undefined && !within(v);
    }
    case "Regex": {
      need(1);
      const src = stringArg(args[0], "a regular expression", a.pos);
      let re: RegExp;
      try {
        // Anchored, as in Skydive; an anchor written by the user is harmless here.
        re = new RegExp(`^(?:${src})$`);
      } catch (err) {
        throw new GremlinError(`invalid regular expression at ${args[0]!.pos}: ${(err as Error).message}`, args[0]!.pos);
      }
      return (v) => any(v, (e) => typeof e === "string" && re.test(e));
    }
    case "Lt":
    case "Gt":
    case "Lte":
    case "Gte": {
      need(1);
      const x = n(0);
      const cmp = { Lt: (y: number) => y < x, Gt: (y: number) => y > x, Lte: (y: number) => y <= x, Gte: (y: number) => y >= x }[a.name];
      return (v) => any(v, (e) => num(e) !== undefined && cmp(num(e)!));
    }
    case "Inside":
    case "Outside":
    case "Between": {
      need(2);
      const lo = n(0);
      const hi = n(1);
      if (a.name === "Inside") return (v) => any(v, (e) => num(e) !== undefined && num(e)! > lo && num(e)! < hi);
      if (a.name === "Between") return (v) => any(v, (e) => num(e) !== undefined && num(e)! >= lo && num(e)! < hi);
      // Outside: present, numeric, and not within [lo, hi] (Skydive's was unreachable and inverted).
      return (v) => v !== undefined && !any(v, (e) => num(e) === undefined || (num(e)! >= lo && num(e)! <= hi));
    }
    case "IPV4Range":
    case "IPRange":
      need(1);
      return ipRange(stringArg(args[0], "a CIDR", a.pos), args[0]!.pos, a.name === "IPV4Range");
    default:
      throw new GremlinError(`${a.name}(…) is not a predicate here at ${a.pos}`, a.pos, "a value or a predicate");
  }
}

/** Key/value pairs (k1, v1, k2, v2…) as [key, matcher] pairs; a single key means "has this key". */
export function keyValues(args: Arg[], step: string, pos: number): [string, Matcher][] {
  if (args.length === 1) return [[stringArg(args[0], "a key", pos), (v) => v !== undefined]];
  if (args.length % 2 !== 0)
    throw new GremlinError(
      `${step} takes key/value pairs, got ${args.length} arguments: expected a value after the key at ${args.at(-1)!.pos}`,
      args.at(-1)!.pos,
      "a value after the last key",
    );
  const out: [string, Matcher][] = [];
  for (let i = 0; i < args.length; i += 2) out.push([stringArg(args[i], "a key", pos), matcher(args[i + 1]!)]);
  return out;
}
