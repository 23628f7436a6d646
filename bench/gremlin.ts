// Live Gremlin queries on a 100k-node / 200k-edge graph held as the API holds it (the topology index,
// seen through IndexGraph): p50/p99 per query. Reference from the same run: the same graph copied into
// plain maps (MemoryGraph), the fastest form the engine can walk.
import { evaluateGremlin, type GraphSource } from "@skystream/pipeline/gremlin/evaluate";
import { MemoryGraph, type QueryGraph } from "@skystream/pipeline/gremlin/graph";
import { IndexGraph } from "@skystream/pipeline/graph/index-graph";
import { TopologyIndex } from "@skystream/pipeline/graph/topology-index";
import type { TopologyRevision } from "@skystream/pipeline/storage/clickhouse/index";

export interface GremlinQueryFigure {
  query: string;
  p50: number;
  p99: number;
  refP50: number;
  refP99: number;
  result: string;
}

const T = Date.UTC(2026, 10, 23);

function row(Kind: "node" | "edge", ID: string, md: Record<string, unknown>, Parent = "", Child = ""): TopologyRevision {
  return {
    Kind,
    ID,
    Origin: `agent.h${ID.length % 10}`,
    Host: `h${ID.length % 10}`,
    Type: String(md.Type ?? ""),
    Name: String(md.Name ?? ""),
    Parent,
    Child,
    RelationType: String(md.RelationType ?? ""),
    Metadata: JSON.stringify(md),
    CreatedAt: T,
    UpdatedAt: T,
    DeletedAt: null,
    Revision: 1,
    ValidFrom: T,
  };
}

/** 100 hosts × 100 namespaces × 9 interfaces + a bridge each: 100k nodes; ownership + layer2 edges: 200k. */
export function buildIndex(): TopologyIndex {
  const index = new TopologyIndex(3_600_000);
  let edges = 0;
  for (let h = 0; h < 100; h++) {
    const host = `host-${h}`;
    index.apply(row("node", host, { Name: host, Type: "host", TID: host }));
    for (let n = 0; n < 100; n++) {
      const ns = `ns-${h}-${n}`;
      index.apply(row("node", ns, { Name: `ns${n}`, Type: "netns" }));
      index.apply(row("edge", `o-${ns}`, { RelationType: "ownership" }, host, ns));
      edges++;
      for (let i = 0; i < 9; i++) {
        const id = `if-${h}-${n}-${i}`;
        const state = (h + n + i) % 50 === 0 ? "DOWN" : "UP";
        index.apply(
          row("node", id, {
            Name: `eth${i}`,
            Type: i === 8 ? "bridge" : "veth",
            State: state,
            MTU: 1500,
            MAC: `02:00:${h}:${n}:${i}:00`,
            IPV4: [`198.18.${n}.${i}/24`],
            TID: id,
          }),
        );
        index.apply(row("edge", `o-${id}`, { RelationType: "ownership" }, ns, id));
        edges++;
        if (i > 0) {
          index.apply(row("edge", `l-${id}`, { RelationType: "layer2" }, `if-${h}-${n}-${i - 1}`, id));
          edges++;
        }
      }
    }
  }
  // Cross links between namespaces' bridges up to 200k edges.
  for (let k = 0; edges < 200_000; k++, edges++)
    index.apply(row("edge", `x-${k}`, { RelationType: "layer2" }, `if-${k % 100}-${k % 97}-8`, `if-${(k + 1) % 100}-${(k * 7) % 100}-8`));
  return index;
}

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

async function time(source: GraphSource, query: string, runs: number): Promise<{ times: number[]; result: string }> {
  const times: number[] = [];
  let result = "";
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = await evaluateGremlin(query, source, { maxItems: 1_000_000 });
    times.push(performance.now() - t0);
    result = r.value.kind === "number" ? String(r.value.value) : `${r.json.length} ${r.value.kind}`;
  }
  return { times, result };
}

export const GREMLIN_QUERIES = [
  "G.V('if-42-17-3')",
  "G.V('ns-42-17').Out().Has('Type', 'veth', 'State', 'UP').Values('Name')",
  "G.V().Has('Type', 'netns').Count()",
  "G.V().Has('Type', 'veth', 'State', 'DOWN').Limit(20)",
  "G.V().Has('IPV4', IPV4Range('198.18.7.0/24')).Count()",
  "G.V('host-7').Descendants(2).Count()",
  "G.V('if-3-3-3').ShortestPathTo(Metadata('Type', 'host'))",
  "G.E().Has('RelationType', 'layer2').Count()",
];

export async function benchGremlin(runs = 50): Promise<{ nodes: number; edges: number; buildSecs: number; figures: GremlinQueryFigure[] }> {
  const t0 = performance.now();
  const index = buildIndex();
  const buildSecs = (performance.now() - t0) / 1000;
  const live = new IndexGraph(index, T + 1);
  const copy = new MemoryGraph(live.nodes(), live.edges());
  const source = (g: QueryGraph): GraphSource => ({ live: () => g, at: async () => g, during: async () => g });
  const figures: GremlinQueryFigure[] = [];
  for (const query of GREMLIN_QUERIES) {
    await time(source(live), query, 3); // warm-up (elements get their shape once)
    const a = await time(source(live), query, runs);
    const b = await time(source(copy), query, runs);
    figures.push({
      query,
      p50: percentile(a.times, 50),
      p99: percentile(a.times, 99),
      refP50: percentile(b.times, 50),
      refP99: percentile(b.times, 99),
      result: a.result,
    });
  }
  return { nodes: copy.nodeCount, edges: copy.edgeCount, buildSecs, figures };
}
