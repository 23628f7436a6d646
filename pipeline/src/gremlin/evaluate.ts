// Runs a parsed Gremlin query over a graph source. Each step takes the value the previous one produced
// (the graph, nodes, edges, values, a number, or paths) and says plainly when it does not apply to it.
// Cost is bounded: a deadline checked inside every loop, and a cap on the elements any step produces.
import { MemoryGraph, valueAt, type GraphEdge, type GraphNode, type QueryGraph } from "./graph.js";
import { GremlinError, parseGremlin, type Arg, type Query, type Step } from "./parse.js";
import { flowSockets } from "./flow-sockets.js";
import { ipv4Span, keyValues, numberArg, stringArg, type Matcher } from "./predicates.js";
import { durationArg, timeArg } from "./time.js";
import { FlowSql, flowMetricsSql, foldedMetricsSql, metricOf, nestFlow, type FlowQuery, type FlowStore, type FlowWindow } from "./flows.js";

export interface GraphSource {
  /** The graph now. */
  live(): QueryGraph | Promise<QueryGraph>;
  /** The graph as it was at t (ms). */
  at(t: number): Promise<QueryGraph>;
  /** Every element that existed at some point of [t0, t1] (ms), in its last revision there. */
  during(t0: number, t1: number): Promise<QueryGraph>;
  /** Where Flows() and the steps after it run; without one they answer that there is none. */
  flows?: FlowStore;
}

export interface EvalOptions {
  /** The time NOW and relative times mean (ms); default Date.now(). */
  now?: number;
  /** Time budget of one query (ms). */
  timeoutMs?: number;
  /** Most elements any step may produce. */
  maxItems?: number;
  /** How long an idle flow lives in an agent's table: live Flows() are those seen this recently (ms). */
  flowExpireMs?: number;
}

export type Value =
  | { kind: "graph"; g: QueryGraph }
  | { kind: "nodes"; g: QueryGraph; items: GraphNode[] }
  | { kind: "edges"; g: QueryGraph; items: GraphEdge[] }
  | { kind: "values"; items: unknown[] }
  | { kind: "number"; value: number }
  | { kind: "paths"; g: QueryGraph; items: GraphNode[][] }
  /** Flows not read yet: a query the following steps refine. */
  | { kind: "flows"; g: QueryGraph; q: FlowQuery }
  /** The update periods of those flows (Metrics()), not read yet: Sum() and Aggregates() fold them in SQL. */
  | { kind: "metrics"; g: QueryGraph; q: FlowQuery };

export interface GremlinResult {
  /** What the last step produced. */
  value: Value;
  /** Skydive's JSON: always an array; a graph is [{Nodes, Edges}], Count() is [n]. */
  json: unknown[];
}

export const DEFAULT_LIMITS = { timeoutMs: 5_000, maxItems: 200_000, flowExpireMs: 600_000 };

const KIND_NAMES: Record<Value["kind"], string> = {
  graph: "the graph",
  nodes: "nodes",
  edges: "edges",
  values: "values",
  number: "a number",
  paths: "paths",
  flows: "flows",
  metrics: "flow metrics",
};
const OWNERSHIP: [string, Matcher][] = [["RelationType", (v) => v === "ownership"]];

type Element = GraphNode | GraphEdge;

class Evaluation {
  private readonly deadline: number;
  private readonly maxItems: number;
  private readonly named = new Map<string, GraphNode[]>();
  private ticks = 0;
  /** The graph G stands for (the live graph, or the one Context() chose). */
  context!: QueryGraph;
  /** The flows Flows() reads: active in the time context. */
  private flowWindow!: FlowWindow;
  private readonly flowExpireMs: number;

  constructor(
    private readonly query: Query,
    private readonly source: GraphSource,
    private readonly now: number,
    opts: EvalOptions,
  ) {
    this.deadline = performance.now() + (opts.timeoutMs ?? DEFAULT_LIMITS.timeoutMs);
    this.maxItems = opts.maxItems ?? DEFAULT_LIMITS.maxItems;
    this.flowExpireMs = opts.flowExpireMs ?? DEFAULT_LIMITS.flowExpireMs;
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
    this.flowWindow = { from: this.now - this.flowExpireMs, to: this.now };
    if (steps[0]?.name === "Context") {
      this.context = await this.timeContext(steps[0]);
      steps = steps.slice(1);
    } else this.context = await this.source.live();
    const v = await this.chain({ kind: "graph", g: this.context }, steps);
    const pos = steps.at(-1)?.pos ?? 0;
    if (v.kind === "flows") return { kind: "values", items: await this.flowRows(v, pos) };
    if (v.kind === "metrics") return { kind: "values", items: [await this.metricsByFlow(v, pos)] };
    return v;
  }

  private async timeContext(step: Step): Promise<QueryGraph> {
    const [at, duration, extra] = step.args;
    if (!at || extra) throw new GremlinError(`Context/At takes a time and an optional duration at ${step.pos}`, step.pos, "At(time[, duration])");
    const t = timeArg(at, this.now);
    if (!duration) {
      this.flowWindow = { from: t - this.flowExpireMs, to: t };
      return this.source.at(t);
    }
    const d = durationArg(duration);
    const t0 = d === Infinity ? 0 : t - d;
    this.flowWindow = { from: t0, to: t };
    return this.source.during(t0, t);
  }

  private async chain(start: Value, steps: Step[]): Promise<Value> {
    let v = start;
    for (const step of reduce(steps)) {
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

  private filter<T>(items: Iterable<T>, pairs: [string, Matcher][], any: boolean, get: (el: T, key: string) => unknown, pos: number, take = Infinity): T[] {
    const out: T[] = [];
    const n = pairs.length;
    for (const el of items) {
      if (out.length >= take) break;
      this.tick(pos);
      let ok = !any || n === 0;
      for (let i = 0; i < n; i++) {
        const [k, m] = pairs[i]!;
        if (m(get(el, k)) === any) {
          ok = any;
          break;
        }
      }
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
    if (v.kind === "flows") return this.flowStep(v, step);
    if (v.kind === "metrics") return this.metricStep(v, step);
    const a = step.args;
    const pos = step.pos;
    switch (step.name) {
      case "Flows":
        return this.flows(v, step);
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
        // An equality on an indexed key (Type, Name, RelationType…) starts from the index's candidates.
        const literal = a.findIndex((x, i) => i % 2 === 1 && x.kind !== "call" && x.kind !== "traversal");
        const key = literal > 0 ? stringArg(a[literal - 1], "a key", pos) : undefined;
        const value = literal > 0 ? (a[literal] as { value: unknown }).value : undefined;
        if (step.name === "V") {
          // IPV4 within a CIDR starts from the index of addresses (narrower than a Type or a Name, as a rule).
          const ip = a.findIndex((x, i) => i % 2 === 1 && a[i - 1]!.kind === "string" && (a[i - 1] as { value: string }).value === "IPV4" && ipv4Span(x));
          const span = ip > 0 ? ipv4Span(a[ip]) : undefined;
          const from = (span && g.nodesByIpv4Range?.(span.lo, span.hi)) || (key !== undefined && g.nodesBy?.(key, value)) || g.nodes();
          return { kind: "nodes", g, items: this.cap(this.filter(from, pairs, false, valueAt, pos, step.take), pos) };
        }
        const from = (key !== undefined && g.edgesBy?.(key, value)) || g.edges();
        return { kind: "edges", g, items: this.cap(this.filter(from, pairs, false, valueAt, pos, step.take), pos) };
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
        if (parts.some((p) => p.kind !== kind) || kind === "graph" || kind === "number" || kind === "flows" || kind === "metrics")
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
            const found =
              r.kind === "number"
                ? r.value > 0
                : r.kind === "graph"
                  ? true
                  : r.kind === "flows" || r.kind === "metrics"
                    ? (await this.flowRows({ ...r, kind: "flows", q: { ...r.q, limit: 1 } }, pos)).length > 0
                    : r.items.length > 0;
            if (found) {
              keep.push(el);
              break;
            }
          }
        }
        return { ...v, items: keep } as Value;
      }
      case "MoreThan": {
        const min = a[0] ? numberArg(a[0], "a count", pos) : 1;
        if (v.kind !== "values" || !v.items.every((x) => isRecord(x) && Object.values(x).every(Array.isArray)))
          throw new GremlinError(`MoreThan() applies to the groups of Group(), not to ${KIND_NAMES[v.kind]} (at ${pos})`, pos);
        return {
          kind: "values",
          items: v.items.map((g) => Object.fromEntries(Object.entries(g as Record<string, unknown[]>).filter(([, list]) => list.length > min))),
        };
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
        throw new GremlinError(`${step.name}() applies to flows, not to ${KIND_NAMES[v.kind]} (at ${pos})`, pos);
    }
  }

  private flowStore(step: Step): FlowStore {
    if (!this.source.flows) throw new GremlinError(`${step.name}() needs the flow store, which this query has none of (at ${step.pos})`, step.pos);
    return this.source.flows;
  }

  private async flowSql(step: Step): Promise<FlowSql> {
    return new FlowSql(await this.flowStore(step).columns(), step.pos);
  }

  /** G.Flows(), V().Flows() (flows captured on those nodes: their TID), SubGraph().Flows(). */
  private async flows(v: Value, step: Step): Promise<Value> {
    const sql = await this.flowSql(step);
    const q: FlowQuery = { window: { ...this.flowWindow }, where: [], params: {} };
    let nodes: GraphNode[] | undefined;
    if (v.kind === "nodes") nodes = v.items;
    else if (v.kind === "paths") nodes = v.items.flat();
    else if (v.kind === "graph") nodes = v.g === this.context ? undefined : [...v.g.nodes()];
    else this.wrong(v, step, "the graph, nodes or paths");
    if (nodes) {
      const tids = [...new Set(nodes.map((n) => n.Metadata.TID).filter((t): t is string => typeof t === "string" && t !== ""))];
      const name = `tids_${Object.keys(q.params).length}`;
      q.params[name] = tids;
      q.where.push({ sql: `NodeTID IN {${name}:Array(String)}`, late: false });
    }
    if (step.args.length > 0) q.where.push(sql.pairs(q, step.args, false, "Flows"));
    return { kind: "flows", g: (v as { g: QueryGraph }).g, q };
  }

  private async flowStep(v: Value & { kind: "flows" }, step: Step): Promise<Value> {
    const a = step.args;
    const pos = step.pos;
    const store = this.flowStore(step);
    const sql = await this.flowSql(step);
    const q: FlowQuery = { ...v.q, where: [...v.q.where], params: { ...v.q.params } };
    const next = (): Value => ({ kind: "flows", g: v.g, q });
    const scalarOf = async (select: string) => {
      const [row] = await store.query<{ v: unknown }>(`SELECT ${select} AS v FROM (${sql.flowsSubquery(store.table, q)})`, q.params);
      return row?.v;
    };
    switch (step.name) {
      case "Has":
      case "HasEither":
        if (a.length === 0) throw new GremlinError(`${step.name} needs a key at ${pos}`, pos, "a key");
        q.where.push(sql.pairs(q, a, step.name === "HasEither", step.name));
        return next();
      case "HasKey":
      case "HasNot":
        q.where.push(sql.present(q, stringArg(a[0], "a key", pos), a[0]?.pos ?? pos, step.name === "HasKey"));
        return next();
      case "Sort": {
        let rest = a;
        let desc = false;
        if (rest[0]?.kind === "word" && (rest[0].value === "ASC" || rest[0].value === "DESC")) {
          desc = rest[0].value === "DESC";
          rest = rest.slice(1);
        }
        const key = rest[0] ? stringArg(rest[0], "a key", pos) : "Last";
        q.order = { key: sql.columnsOf(key, rest[0]?.pos ?? pos)[0]!, desc };
        return next();
      }
      case "Range":
      case "Limit": {
        const [from, to] =
          step.name === "Limit"
            ? [0, numberArg(a[0], "a count", pos)]
            : [numberArg(a[0], "the first index", pos), numberArg(a[1], "the index after the last", pos)];
        if (from < 0 || to < from) throw new GremlinError(`${step.name} takes ${step.name === "Limit" ? "a count" : "from ≤ to"} at ${pos}`, pos);
        // Within an earlier range: offsets add up, the end is the nearer one.
        const base = q.offset ?? 0;
        const end = Math.min(base + to, q.limit !== undefined ? base + q.limit : Infinity);
        q.offset = base + from;
        q.limit = Math.max(0, end - q.offset);
        return next();
      }
      case "Dedup":
        q.dedup = a.length === 0 ? ["UUID"] : a.flatMap((x) => sql.columnsOf(stringArg(x, "a key", pos), x.pos));
        return next();
      case "Count":
        return { kind: "number", value: Number(await scalarOf("count()")) };
      case "Sum": {
        const key = stringArg(a[0], "a key", pos);
        const [col] = sql.columnsOf(key, a[0]!.pos);
        if (!/^(Metric|LastUpdateMetric)\./.test(col!))
          throw new GremlinError(`Sum on flows takes a Metric.* or LastUpdateMetric.* key at ${a[0]!.pos}`, a[0]!.pos, "Metric.ABBytes");
        return { kind: "number", value: Number(await scalarOf(`sum("${col}")`)) };
      }
      case "Values": {
        const [col] = sql.columnsOf(stringArg(a[0], "a key", pos), a[0]?.pos ?? pos);
        const rows = await this.flowRows({ kind: "flows", g: v.g, q }, pos);
        return {
          kind: "values",
          items: rows
            .map((r) => col!.split(".").reduce<unknown>((o, k) => (o as Record<string, unknown> | null)?.[k], r))
            .filter((x) => x !== undefined && x !== null && x !== ""),
        };
      }
      case "Keys":
        return { kind: "values", items: [...(await store.columns()).keys()].filter((c) => c !== "InsertedAt").sort() };
      case "CaptureNode":
      case "Hops":
      case "Nodes":
      case "In":
      case "Out":
      case "Both": {
        const rows = await this.flowRows({ kind: "flows", g: v.g, q }, pos);
        const byTid = new Map<string, GraphNode>();
        for (const n of this.context.nodes()) if (typeof n.Metadata.TID === "string" && n.Metadata.TID) byTid.set(n.Metadata.TID, n);
        const out: GraphNode[] = [];
        const push = (n: GraphNode | undefined) => n && out.push(n);
        for (const r of rows) {
          this.tick(pos);
          const end = (side: "A" | "B") =>
            (r[side] as { Node?: { ID?: string } } | undefined)?.Node?.ID ? this.context.node((r[side] as { Node: { ID: string } }).Node.ID) : undefined;
          if (step.name === "CaptureNode" || step.name === "Hops" || step.name === "Nodes") push(byTid.get(String(r.NodeTID)));
          if (step.name === "In" || step.name === "Both" || step.name === "Nodes") push(end("A"));
          if (step.name === "Out" || step.name === "Both" || step.name === "Nodes") push(end("B"));
        }
        const items = step.name === "CaptureNode" ? out : [...new Map(out.map((n) => [n.ID, n])).values()];
        return { kind: "nodes", g: this.context, items: this.cap(items, pos) };
      }
      case "Metrics":
        return { kind: "metrics", g: v.g, q };
      case "Sockets":
        return { kind: "values", items: this.cap(flowSockets(await this.flowRows({ kind: "flows", g: v.g, q }, pos), this.context), pos) };
      case "Group": {
        const key = a[0] ? stringArg(a[0], "a key", pos) : "TrackingID";
        const [col] = sql.columnsOf(key, a[0]?.pos ?? pos);
        const groups: Record<string, unknown[]> = {};
        for (const r of await this.flowRows({ kind: "flows", g: v.g, q }, pos)) {
          const k = String(col!.split(".").reduce<unknown>((o, x) => (o as Record<string, unknown> | null)?.[x], r) ?? "");
          (groups[k] ??= []).push(r);
        }
        return { kind: "values", items: [groups] };
      }
      default:
        throw new GremlinError(`${step.name}() does not apply to flows (at ${pos})`, pos);
    }
  }

  /**
   * Steps on Metrics(): Sum() (one metric: every period of every flow added up), Aggregates([seconds])
   * (the periods added up per time slice, 30 s by default), Count() (periods).
   */
  private async metricStep(v: Value & { kind: "metrics" }, step: Step): Promise<Value> {
    const store = this.flowStore(step);
    const sql = await this.flowSql(step);
    const q: FlowQuery = { ...v.q, where: [...v.q.where], params: { ...v.q.params } };
    const metrics = flowMetricsSql(sql, store.table, q);
    switch (step.name) {
      case "Sum": {
        const [row] = await store.query(foldedMetricsSql(metrics), q.params);
        return { kind: "values", items: row && Number(row.Last) > 0 ? [metricOf(row)] : [] };
      }
      case "Aggregates": {
        const seconds = step.args[0] ? numberArg(step.args[0], "a slice length (seconds)", step.pos) : 30;
        if (!(seconds >= 1)) throw new GremlinError(`Aggregates takes a slice of 1 s or more at ${step.pos}`, step.pos, "seconds");
        const rows = await store.query(foldedMetricsSql(metrics, Math.round(seconds * 1000)), q.params);
        return { kind: "values", items: [{ Aggregated: this.cap(rows, step.pos).map(metricOf) }] };
      }
      case "Count": {
        const [row] = await store.query<{ n: unknown }>(`SELECT count() AS n FROM (${metrics})`, q.params);
        return { kind: "number", value: Number(row?.n ?? 0) };
      }
      default:
        throw new GremlinError(`${step.name}() does not apply to flow metrics (Sum, Aggregates and Count do) (at ${step.pos})`, step.pos);
    }
  }

  /** Metrics() as Skydive returns it: {flow UUID: [each update period's metric, oldest first]}. */
  private async metricsByFlow(v: Value & { kind: "metrics" }, pos: number): Promise<Record<string, unknown>> {
    const store = this.source.flows!;
    const sql = new FlowSql(await store.columns(), pos);
    const q: FlowQuery = { ...v.q, params: { ...v.q.params } };
    const rows = this.cap(await store.query(`${flowMetricsSql(sql, store.table, q)} ORDER BY UUID, Last LIMIT ${this.maxItems + 1}`, q.params), pos);
    const out: Record<string, unknown[]> = {};
    for (const r of rows) (out[String(r.UUID)] ??= []).push(metricOf(r));
    return out;
  }

  /** Reads a flows value: each flow in Skydive's nested shape. */
  private async flowRows(v: Value & { kind: "flows" }, pos: number): Promise<Record<string, unknown>[]> {
    const store = this.source.flows!;
    const sql = new FlowSql(await store.columns(), pos);
    const q: FlowQuery = { ...v.q, params: { ...v.q.params } };
    // One more than allowed tells a result that is too large from one that is just full.
    const cap = Math.min(q.limit ?? Infinity, this.maxItems + 1);
    const inner = sql.flowsSubquery(store.table, { ...q, limit: cap === Infinity ? undefined : cap });
    const rows = await store.query(`SELECT ${sql.selectList()} FROM (${inner})`, q.params);
    return this.cap(rows, pos).map(nestFlow);
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

/**
 * Skydive's reduction: V().Has(k, v…) is V(k, v…) (and E() likewise), so the graph's indexes can answer
 * an equality; same meaning, same positions for errors.
 */
function reduce(steps: Step[]): Step[] {
  const out: Step[] = [];
  for (const s of steps) {
    const prev = out.at(-1);
    if (prev && (prev.name === "V" || prev.name === "E") && prev.args.length === 0 && s.name === "Has" && s.args.length >= 2 && s.args.length % 2 === 0)
      out[out.length - 1] = { ...prev, args: s.args };
    else {
      // V(…)/E(…) then Limit(n): the scan stops at n matches (Limit stays, for its checks).
      const n = s.args[0];
      if (prev && (prev.name === "V" || prev.name === "E") && s.name === "Limit" && s.args.length === 1 && n?.kind === "number")
        out[out.length - 1] = { ...prev, take: n.value };
      out.push(s);
    }
  }
  return out;
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
    case "flows":
    case "metrics":
      throw new Error("flows are read before they are returned");
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
