// Runs a parsed Gremlin query over a graph source. Each step takes the value the previous one produced
// (the graph, nodes, edges, values, a number, or paths) and says plainly when it does not apply to it.
// Cost is bounded: a deadline checked inside every loop, and a cap on the elements any step produces.
import { MemoryGraph, valueAt, type GraphEdge, type GraphNode, type QueryGraph } from "./graph.js";
import { GremlinError, parseGremlin, type Arg, type Query, type Step } from "./parse.js";
import { keyValues, numberArg, stringArg, type Matcher } from "./predicates.js";
import { durationArg, timeArg } from "./time.js";

export interface GraphSource {
  /** The graph now. */
  live(): QueryGraph | Promise<QueryGraph>;
  /** The graph as it was at t (ms). */
  at(t: number): Promise<QueryGraph>;
  /** Every element that existed at some point of [t0, t1] (ms), in its last revision there. */
  during(t0: number, t1: number): Promise<QueryGraph>;
}

export interface EvalOptions {
  /** The time NOW and relative times mean (ms); default Date.now(). */
  now?: number;
  /** Time budget of one query (ms). */
  timeoutMs?: number;
  /** Most elements any step may produce. */
  maxItems?: number;
}

export type Value =
  | { kind: "graph"; g: QueryGraph }
  | { kind: "nodes"; g: QueryGraph; items: GraphNode[] }
  | { kind: "edges"; g: QueryGraph; items: GraphEdge[] }
  | { kind: "values"; items: unknown[] }
  | { kind: "number"; value: number }
  | { kind: "paths"; g: QueryGraph; items: GraphNode[][] };

export interface GremlinResult {
  /** What the last step produced. */
  value: Value;
  /** Skydive's JSON: always an array; a graph is [{Nodes, Edges}], Count() is [n]. */
  json: unknown[];
}

export const DEFAULT_LIMITS = { timeoutMs: 5_000, maxItems: 200_000 };

const KIND_NAMES: Record<Value["kind"], string> = { graph: "the graph", nodes: "nodes", edges: "edges", values: "values", number: "a number", paths: "paths" };
const OWNERSHIP: [string, Matcher][] = [["RelationType", (v) => v === "ownership"]];

type Element = GraphNode | GraphEdge;

class Evaluation {
  private readonly deadline: number;
  private readonly maxItems: number;
  private readonly named = new Map<string, GraphNode[]>();
  private ticks = 0;
  /** The graph G stands for (the live graph, or the one Context() chose). */
  context!: QueryGraph;

  constructor(
    private readonly query: Query,
    private readonly source: GraphSource,
    private readonly now: number,
    opts: EvalOptions,
  ) {
    this.deadline = performance.now() + (opts.timeoutMs ?? DEFAULT_LIMITS.timeoutMs);
    this.maxItems = opts.maxItems ?? DEFAULT_LIMITS.maxItems;
  }

  /** Called in loops: throws once the query's time is up. */
  tick(pos: number): void {
    if ((++this.ticks & 1023) === 0 && performance.now() > this.deadline)
      throw new GremlinError(`query took longer than its time limit (at the step at ${pos}); narrow it down`, pos);
  }

  private cap<T>(items: T[], pos: number): T[] {
    if (items.length > this.maxItems)
      throw new GremlinError(`the step at ${pos} produced more than ${this.maxItems} elements; narrow the query (Has, Limit)`, pos);
    return items;
  }

  async run(): Promise<Value> {
    let steps = this.query.steps;
    if (steps[0]?.name === "Context") {
      this.context = await this.timeContext(steps[0]);
      steps = steps.slice(1);
    } else this.context = await this.source.live();
    return this.chain({ kind: "graph", g: this.context }, steps);
  }

  private async timeContext(step: Step): Promise<QueryGraph> {
    const [at, duration, extra] = step.args;
    if (!at || extra) throw new GremlinError(`Context/At takes a time and an optional duration at ${step.pos}`, step.pos, "At(time[, duration])");
    const t = timeArg(at, this.now);
    if (!duration) return this.source.at(t);
    const d = durationArg(duration);
    return this.source.during(d === Infinity ? 0 : t - d, t);
  }

  private async chain(start: Value, steps: Step[]): Promise<Value> {
    let v = start;
    for (const step of steps) {
      if (performance.now() > this.deadline) throw new GremlinError(`query took longer than its time limit (at the step at ${step.pos})`, step.pos);
      v = await this.step(v, step);
    }
    return v;
  }

  private wrong(v: Value, step: Step, applies: string): never {
    throw new GremlinError(`${step.name}() applies to ${applies}, not to ${KIND_NAMES[v.kind]} (at ${step.pos})`, step.pos);
  }

  private graphOf(v: Value, step: Step): QueryGraph {
    if (v.kind !== "graph") this.wrong(v, step, "the graph (G or a SubGraph())");
    return v.g;
  }

  private nodesOf(v: Value, step: Step): { g: QueryGraph; items: GraphNode[] } {
    if (v.kind !== "nodes") this.wrong(v, step, "nodes");
    return v;
  }

  private edgesOf(v: Value, step: Step): { g: QueryGraph; items: GraphEdge[] } {
    if (v.kind !== "edges") this.wrong(v, step, "edges");
    return v;
  }

  private filter<T>(items: T[], pairs: [string, Matcher][], any: boolean, get: (el: T, key: string) => unknown, pos: number): T[] {
    const out: T[] = [];
    for (const el of items) {
      this.tick(pos);
      const ok = any ? pairs.some(([k, m]) => m(get(el, k))) : pairs.every(([k, m]) => m(get(el, k)));
      if (ok) out.push(el);
    }
    return out;
  }

  /** Filters nodes, edges, or values that are records (Sockets()), by key/value pairs. */
  private filtered(v: Value, step: Step, pairs: [string, Matcher][], any: boolean): Value {
    if (v.kind === "nodes") return { ...v, items: this.filter(v.items, pairs, any, valueAt, step.pos) };
    if (v.kind === "edges") return { ...v, items: this.filter(v.items, pairs, any, valueAt, step.pos) };
    if (v.kind === "values") return { kind: "values", items: this.filter(v.items, pairs, any, recordValue, step.pos) };
    return this.wrong(v, step, "nodes, edges or records");
  }

  private optionalPairs(step: Step): [string, Matcher][] {
    return step.args.length === 0 ? [] : keyValues(step.args, step.name, step.pos);
  }

  private neighbours(g: QueryGraph, items: GraphNode[], dir: "out" | "in" | "both", pairs: [string, Matcher][], pos: number): GraphNode[] {
    const out: GraphNode[] = [];
    for (const n of items) {
      if (dir !== "in")
        for (const e of g.outEdges(n.ID)) {
          this.tick(pos);
          const c = g.node(e.Child);
          if (c && pairs.every(([k, m]) => m(valueAt(c, k)))) out.push(c);
        }
      if (dir !== "out")
        for (const e of g.inEdges(n.ID)) {
          this.tick(pos);
          const p = g.node(e.Parent);
          if (p && pairs.every(([k, m]) => m(valueAt(p, k)))) out.push(p);
        }
    }
    return this.cap(out, pos);
  }

  private edgesAround(g: QueryGraph, items: GraphNode[], dir: "out" | "in" | "both", pairs: [string, Matcher][], pos: number): GraphEdge[] {
    const out: GraphEdge[] = [];
    for (const n of items) {
      const lists = dir === "out" ? [g.outEdges(n.ID)] : dir === "in" ? [g.inEdges(n.ID)] : [g.outEdges(n.ID), g.inEdges(n.ID)];
      for (const list of lists)
        for (const e of list) {
          this.tick(pos);
          if (pairs.every(([k, m]) => m(valueAt(e, k)))) out.push(e);
        }
    }
    return this.cap(out, pos);
  }

  /** Breadth-first from the start nodes over the matching edges, up to depth (0: no limit); start nodes included. */
  private walk(g: QueryGraph, start: GraphNode[], dir: "out" | "in" | "both", edge: [string, Matcher][], depth: number, pos: number): GraphNode[] {
    const seen = new Map<string, GraphNode>();
    let frontier = start.filter((n) => !seen.has(n.ID) && seen.set(n.ID, n));
    for (let d = 0; frontier.length > 0 && (depth === 0 || d < depth); d++) {
      const next: GraphNode[] = [];
      for (const n of frontier) {
        const lists = dir === "out" ? [g.outEdges(n.ID)] : dir === "in" ? [g.inEdges(n.ID)] : [g.outEdges(n.ID), g.inEdges(n.ID)];
        for (const list of lists)
          for (const e of list) {
            this.tick(pos);
            if (!edge.every(([k, m]) => m(valueAt(e, k)))) continue;
            const other = g.node(e.Parent === n.ID ? e.Child : e.Parent);
            if (other && !seen.has(other.ID)) {
              seen.set(other.ID, other);
              next.push(other);
            }
          }
      }
      frontier = next;
      if (seen.size > this.maxItems) this.cap([...seen.values()], pos);
    }
    return [...seen.values()];
  }

  /** [edge k, v…][, depth]: the edge filter and the depth of Descendants/Ascendants/Neighbors. */
  private walkArgs(step: Step, defaultEdge: [string, Matcher][]): { edge: [string, Matcher][]; depth: number } {
    let args = step.args;
    let depth = 1;
    if (args.length % 2 === 1) {
      depth = numberArg(args.at(-1), "a depth", step.pos);
      if (!Number.isInteger(depth) || depth < 0) throw new GremlinError(`expected a depth (0 for no limit) at ${args.at(-1)!.pos}`, args.at(-1)!.pos);
      args = args.slice(0, -1);
    }
    return { edge: args.length === 0 ? defaultEdge : keyValues(args, step.name, step.pos), depth };
  }

  private async step(v: Value, step: Step): Promise<Value> {
    const a = step.args;
    const pos = step.pos;
    switch (step.name) {
      case "G":
        return { kind: "graph", g: this.context };
      case "Context":
        throw new GremlinError(`Context/At comes right after G (at ${pos})`, pos, "G.At(…)");
      case "V":
      case "E": {
        const g = this.graphOf(v, step);
        if (a.length === 1 && a[0]!.kind === "string") {
          const el = step.name === "V" ? g.node(a[0]!.value) : g.edge(a[0]!.value);
          return step.name === "V" ? { kind: "nodes", g, items: el ? [el as GraphNode] : [] } : { kind: "edges", g, items: el ? [el as GraphEdge] : [] };
        }
        const pairs = this.optionalPairs(step);
        if (step.name === "V") return { kind: "nodes", g, items: this.cap(this.filter([...g.nodes()], pairs, false, valueAt, pos), pos) };
        return { kind: "edges", g, items: this.cap(this.filter([...g.edges()], pairs, false, valueAt, pos), pos) };
      }
      case "Has":
      case "HasEither":
        if (a.length === 0) throw new GremlinError(`${step.name} needs a key at ${pos}`, pos, "a key");
        return this.filtered(v, step, keyValues(a, step.name, pos), step.name === "HasEither");
      case "HasKey":
      case "HasNot": {
        if (a.length !== 1) throw new GremlinError(`${step.name} takes one key at ${pos}`, pos, "a key");
        const key = stringArg(a[0], "a key", pos);
        return this.filtered(v, step, [[key, step.name === "HasKey" ? (x) => x !== undefined : (x) => x === undefined]], false);
      }
      case "Out":
      case "In":
      case "Both": {
        const { g, items } = this.nodesOf(v, step);
        return {
          kind: "nodes",
          g,
          items: this.neighbours(g, items, step.name === "Out" ? "out" : step.name === "In" ? "in" : "both", this.optionalPairs(step), pos),
        };
      }
      case "OutE":
      case "InE":
      case "BothE": {
        const { g, items } = this.nodesOf(v, step);
        const dir = step.name === "OutE" ? "out" : step.name === "InE" ? "in" : "both";
        return { kind: "edges", g, items: this.edgesAround(g, items, dir, this.optionalPairs(step), pos) };
      }
      case "OutV":
      case "InV":
      case "BothV": {
        const { g, items } = this.edgesOf(v, step);
        const pairs = this.optionalPairs(step);
        const out: GraphNode[] = [];
        for (const e of items) {
          this.tick(pos);
          const ends = step.name === "OutV" ? [e.Parent] : step.name === "InV" ? [e.Child] : [e.Parent, e.Child];
          for (const id of ends) {
            const n = g.node(id);
            if (n && pairs.every(([k, m]) => m(valueAt(n, k)))) out.push(n);
          }
        }
        return { kind: "nodes", g, items: this.cap(out, pos) };
      }
      case "Dedup": {
        const keys = a.map((x) => stringArg(x, "a key", pos));
        const seen = new Set<string>();
        const keep = (id: string) => !seen.has(id) && !!seen.add(id);
        const keyOf = (el: Element) => (keys.length === 0 ? el.ID : JSON.stringify(keys.map((k) => valueAt(el, k) ?? null)));
        if (v.kind === "nodes") return { ...v, items: v.items.filter((n) => keep(keyOf(n))) };
        if (v.kind === "edges") return { ...v, items: v.items.filter((e) => keep(keyOf(e))) };
        if (v.kind === "values")
          return { kind: "values", items: v.items.filter((x) => keep(JSON.stringify(keys.length === 0 ? x : keys.map((k) => recordValue(x, k) ?? null)))) };
        if (v.kind === "paths") return { ...v, items: v.items.filter((p) => keep(p.map((n) => n.ID).join(" "))) };
        return this.wrong(v, step, "nodes, edges, values or paths");
      }
      case "Count":
        if (v.kind === "graph" || v.kind === "number") this.wrong(v, step, "nodes, edges, values or paths");
        return { kind: "number", value: v.items.length };
      case "Range":
      case "Limit": {
        if (v.kind === "graph" || v.kind === "number") this.wrong(v, step, "nodes, edges, values or paths");
        const [from, to] =
          step.name === "Limit"
            ? [0, numberArg(a[0], "a count", pos)]
            : [numberArg(a[0], "the first index", pos), numberArg(a[1], "the index after the last", pos)];
        if (a.length !== (step.name === "Limit" ? 1 : 2) || from < 0 || to < from)
          throw new GremlinError(`${step.name} takes ${step.name === "Limit" ? "a count" : "from and to (from ≤ to)"} at ${pos}`, pos);
        return { ...v, items: v.items.slice(from, to) } as Value;
      }
      case "Sort": {
        let order = 1;
        let rest = a;
        if (rest[0]?.kind === "word" && (rest[0].value === "ASC" || rest[0].value === "DESC")) {
          order = rest[0].value === "DESC" ? -1 : 1;
          rest = rest.slice(1);
        }
        if (rest.length > 1) throw new GremlinError(`Sort takes [ASC|DESC,] [key] at ${pos}`, pos);
        const key = rest[0] ? stringArg(rest[0], "a key", pos) : "CreatedAt";
        if (v.kind === "nodes" || v.kind === "edges") {
          const items = [...v.items] as Element[];
          items.sort((x, y) => order * compare(valueAt(x, key), valueAt(y, key)));
          return { ...v, items } as Value;
        }
        if (v.kind === "values")
          return { kind: "values", items: [...v.items].sort((x, y) => order * compare(rest[0] ? recordValue(x, key) : x, rest[0] ? recordValue(y, key) : y)) };
        return this.wrong(v, step, "nodes, edges or values");
      }
      case "Values": {
        const key = stringArg(a[0], "a key", pos);
        if (a.length !== 1) throw new GremlinError(`Values takes one key at ${pos}`, pos);
        if (v.kind !== "nodes" && v.kind !== "edges" && v.kind !== "values") this.wrong(v, step, "nodes, edges or records");
        const get = v.kind === "values" ? (el: unknown) => recordValue(el, key) : (el: unknown) => valueAt(el as Element, key);
        const out: unknown[] = [];
        for (const el of v.items) {
          const x = get(el);
          if (x === undefined || x === null || (Array.isArray(x) && x.length === 0) || (isRecord(x) && Object.keys(x).length === 0)) continue;
          out.push(x);
        }
        return { kind: "values", items: out };
      }
      case "ValueMap": {
        if (v.kind !== "nodes" && v.kind !== "edges") this.wrong(v, step, "nodes or edges");
        const keys = a.map((x) => stringArg(x, "a key", pos));
        const items = (v.items as Element[]).map((el) => {
          if (keys.length === 0) return { ...el.Metadata };
          const m: Record<string, unknown> = {};
          for (const k of keys) {
            const x = valueAt(el, k);
            if (x !== undefined) m[k] = x;
          }
          return m;
        });
        return { kind: "values", items };
      }
      case "Keys": {
        const keys = new Set<string>();
        if (v.kind === "nodes" || v.kind === "edges") for (const el of v.items as Element[]) for (const k of Object.keys(el.Metadata)) keys.add(k);
        else if (v.kind === "values")
          for (const x of v.items)
            if (isRecord(x)) for (const k of Object.keys(x)) keys.add(k);
            else this.wrong(v, step, "nodes, edges or records");
        return { kind: "values", items: [...keys].sort() };
      }
      case "Sum": {
        const key = a[0] ? stringArg(a[0], "a key", pos) : undefined;
        let sum = 0;
        const add = (x: unknown) => {
          if (typeof x === "number") sum += x;
          else if (typeof x === "bigint") sum += Number(x);
        };
        if (v.kind === "nodes" || v.kind === "edges") {
          if (!key) throw new GremlinError(`Sum takes a key on nodes and edges at ${pos}`, pos, "a key");
          for (const el of v.items as Element[]) add(valueAt(el, key));
        } else if (v.kind === "values") for (const x of v.items) add(key ? recordValue(x, key) : x);
        else this.wrong(v, step, "nodes, edges or values");
        return { kind: "number", value: sum };
      }
      case "As": {
        const { items } = this.nodesOf(v, step);
        this.named.set(stringArg(a[0], "a name", pos), items);
        return v;
      }
      case "Select": {
        if (a.length === 0) throw new GremlinError(`Select takes the names given to As() at ${pos}`, pos, "a name");
        const out = new Map<string, GraphNode>();
        for (const x of a) {
          const name = stringArg(x, "a name", pos);
          const set = this.named.get(name);
          if (!set) throw new GremlinError(`no As('${name}') before Select at ${x.pos}`, x.pos, `a name given to As() earlier`);
          for (const n of set) out.set(n.ID, n);
        }
        return { kind: "nodes", g: this.context, items: [...out.values()] };
      }
      case "ShortestPathTo": {
        const { g, items } = this.nodesOf(v, step);
        const target = metadataArg(a[0], step);
        const edge = a[1] ? metadataArg(a[1], step) : [];
        if (a.length > 2) throw new GremlinError(`ShortestPathTo takes Metadata(…)[, Metadata(…)] at ${pos}`, pos);
        const paths: GraphNode[][] = [];
        for (const n of items) {
          const p = this.shortestPath(g, n, target, edge, pos);
          if (p) paths.push(p);
        }
        return { kind: "paths", g, items: paths };
      }
      case "SubGraph":
        return { kind: "graph", g: subGraph(v, step) };
      case "Descendants":
      case "Ascendants":
      case "Neighbors": {
        const { g, items } = this.nodesOf(v, step);
        const { edge, depth } = this.walkArgs(step, step.name === "Neighbors" ? [] : OWNERSHIP);
        const dir = step.name === "Descendants" ? "out" : step.name === "Ascendants" ? "in" : "both";
        return { kind: "nodes", g, items: this.walk(g, items, dir, edge, depth, pos) };
      }
      case "Union": {
        if (a.length === 0) throw new GremlinError(`Union takes traversals at ${pos}`, pos, "a traversal such as Out()");
        const parts: Value[] = [];
        for (const t of a) parts.push(await this.subTraversal(v, t, step));
        const kind = parts[0]!.kind;
        if (parts.some((p) => p.kind !== kind) || kind === "graph" || kind === "number")
          throw new GremlinError(`Union's traversals must all give nodes, all edges, all values or all paths (at ${pos})`, pos);
        const items = this.cap(
          parts.flatMap((p) => (p as { items: unknown[] }).items),
          pos,
        );
        return { ...(parts[0] as object), items } as Value;
      }
      case "Or": {
        if (v.kind !== "nodes" && v.kind !== "edges") this.wrong(v, step, "nodes or edges");
        if (a.length === 0) throw new GremlinError(`Or takes traversals at ${pos}`, pos, "a traversal such as Has('Type', 'veth')");
        const keep: Element[] = [];
        for (const el of v.items as Element[]) {
          this.tick(pos);
          for (const t of a) {
            const r = await this.subTraversal({ ...v, items: [el] } as Value, t, step);
            if (r.kind === "number" ? r.value > 0 : r.kind === "graph" || r.items.length > 0) {
              keep.push(el);
              break;
            }
          }
        }
        return { ...v, items: keep } as Value;
      }
      case "Sockets": {
        const { items } = this.nodesOf(v, step);
        const out: unknown[] = [];
        for (const n of items) {
          const sockets = n.Metadata.Sockets;
          if (Array.isArray(sockets)) for (const s of sockets) if (isRecord(s)) out.push({ NodeID: n.ID, ...s });
        }
        return { kind: "values", items: this.cap(out, pos) };
      }
      default:
        throw new GremlinError(`${step.name}() is answered by the query API's flow store, which this evaluation has none of (at ${pos})`, pos);
    }
  }

  private async subTraversal(v: Value, t: Arg, step: Step): Promise<Value> {
    if (t.kind !== "traversal") throw new GremlinError(`${step.name} takes traversals (such as Out() or G.V()) at ${t.pos}`, t.pos, "a traversal");
    return this.chain(t.fromGraph ? { kind: "graph", g: this.context } : v, t.steps);
  }

  private shortestPath(g: QueryGraph, from: GraphNode, target: [string, Matcher][], edge: [string, Matcher][], pos: number): GraphNode[] | undefined {
    const matches = (n: GraphNode) => target.every(([k, m]) => m(valueAt(n, k)));
    if (matches(from)) return [from];
    const prev = new Map<string, GraphNode | null>([[from.ID, null]]);
    let frontier = [from];
    while (frontier.length > 0) {
      const next: GraphNode[] = [];
      for (const n of frontier)
        for (const e of [...g.outEdges(n.ID), ...g.inEdges(n.ID)]) {
          this.tick(pos);
          if (!edge.every(([k, m]) => m(valueAt(e, k)))) continue;
          const o = g.node(e.Parent === n.ID ? e.Child : e.Parent);
          if (!o || prev.has(o.ID)) continue;
          prev.set(o.ID, n);
          if (matches(o)) {
            const path = [o];
            for (let p = prev.get(o.ID); p; p = prev.get(p.ID)) path.unshift(p);
            return path;
          }
          next.push(o);
        }
      frontier = next;
    }
    return undefined;
  }
}

const isRecord = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === "object" && !Array.isArray(x);

/** A dotted key into a plain record (a socket, a ValueMap entry). */
function recordValue(x: unknown, key: string): unknown {
  if (!isRecord(x)) return undefined;
  if (key in x) return x[key];
  let v: unknown = x;
  for (const part of key.split(".")) {
    if (!isRecord(v)) return undefined;
    v = v[part];
  }
  return v;
}

/** Numbers before strings before anything else; absent values last. */
function compare(x: unknown, y: unknown): number {
  if (x === y) return 0;
  if (x === undefined) return 1;
  if (y === undefined) return -1;
  if (typeof x === "number" && typeof y === "number") return x - y;
  if (typeof x === "number") return -1;
  if (typeof y === "number") return 1;
  const sx = typeof x === "string" ? x : JSON.stringify(x);
  const sy = typeof y === "string" ? y : JSON.stringify(y);
  return sx < sy ? -1 : sx > sy ? 1 : 0;
}

function metadataArg(a: Arg | undefined, step: Step): [string, Matcher][] {
  if (!a || a.kind !== "call" || a.name !== "Metadata")
    throw new GremlinError(`${step.name} takes Metadata(key, value, …) at ${a?.pos ?? step.pos}`, a?.pos ?? step.pos, "Metadata(…)");
  return keyValues(a.args, "Metadata", a.pos);
}

function subGraph(v: Value, step: Step): QueryGraph {
  if (v.kind === "graph") return v.g;
  if (v.kind === "nodes") {
    const g = new MemoryGraph(v.items);
    for (const n of v.items) for (const e of v.g.outEdges(n.ID)) g.addEdge(e);
    return g;
  }
  if (v.kind === "edges") {
    const nodes = new Map<string, GraphNode>();
    for (const e of v.items)
      for (const id of [e.Parent, e.Child]) {
        const n = v.g.node(id);
        if (n) nodes.set(id, n);
      }
    return new MemoryGraph(nodes.values(), v.items);
  }
  if (v.kind === "paths") {
    const nodes = new Map<string, GraphNode>();
    for (const p of v.items) for (const n of p) nodes.set(n.ID, n);
    const g = new MemoryGraph(nodes.values());
    for (const p of v.items)
      for (let i = 1; i < p.length; i++)
        for (const e of [...v.g.outEdges(p[i - 1]!.ID), ...v.g.inEdges(p[i - 1]!.ID)]) if (e.Parent === p[i]!.ID || e.Child === p[i]!.ID) g.addEdge(e);
    return g;
  }
  throw new GremlinError(`SubGraph() applies to nodes, edges or paths, not to ${KIND_NAMES[v.kind]} (at ${step.pos})`, step.pos);
}

/** Skydive's JSON shape of a value. */
export function toJson(v: Value): unknown[] {
  switch (v.kind) {
    case "graph":
      return [{ Nodes: [...v.g.nodes()], Edges: [...v.g.edges()] }];
    case "number":
      return [v.value];
    default:
      return v.items;
  }
}

/** Parses and runs a query. Throws GremlinError (with the position) for anything wrong with the query. */
export async function evaluateGremlin(text: string | Query, source: GraphSource, opts: EvalOptions = {}): Promise<GremlinResult> {
  const query = typeof text === "string" ? parseGremlin(text) : text;
  const value = await new Evaluation(query, source, opts.now ?? Date.now(), opts).run();
  return { value, json: toJson(value) };
}
