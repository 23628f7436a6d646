// The query API under load (autocannon, 10 connections, 5 s each) on the 100k-node / 200k-edge graph of
// the Gremlin bench: requests/s of typical queries over HTTP, against GET /api (no work) in the same run.
import autocannon from "autocannon";
import pino from "pino";
import { createRegistry } from "@skystream/common";
import { apiConfig } from "@skystream/pipeline/api/config";
import { buildApi, listen } from "@skystream/pipeline/api/server";
import { IndexGraph } from "@skystream/pipeline/graph/index-graph";
import { buildIndex } from "./gremlin.ts";

export interface ApiLoadFigure {
  what: string;
  requestsPerSec: number;
  p99Ms: number;
}

async function load(url: string, body?: string): Promise<{ rps: number; p99: number; errors: number }> {
  const r = await autocannon({
    url,
    connections: 10,
    duration: 5,
    ...(body ? { method: "POST", body, headers: { "content-type": "application/json" } } : {}),
  });
  return { rps: r.requests.average, p99: r.latency.p99, errors: r.errors + r.non2xx };
}

export async function benchApi(): Promise<{ reference: ApiLoadFigure; figures: ApiLoadFigure[] }> {
  const index = buildIndex();
  const t = Date.UTC(2026, 10, 23) + 1;
  const source = { live: () => new IndexGraph(index, t), at: async () => new IndexGraph(index, t), during: async () => new IndexGraph(index, t) };
  const app = await buildApi(apiConfig.parse({ listen: "127.0.0.1:0", max_items: 1_000_000 }), {
    source,
    metrics: createRegistry("bench-api"),
    log: pino({ level: "silent" }),
  });
  const address = await listen(app, "127.0.0.1:0");
  try {
    const ref = await load(`${address}/api`);
    const figures: ApiLoadFigure[] = [];
    for (const q of [
      "G.V('if-42-17-3')",
      "G.V('ns-42-17').Out().Has('Type', 'veth')",
      "G.V().Has('Type', 'host').Count()",
      "G.V('host-7').Descendants(2).Count()",
    ]) {
      const r = await load(`${address}/api/topology`, JSON.stringify({ GremlinQuery: q }));
      if (r.errors > 0) throw new Error(`${q}: ${r.errors} failed requests`);
      figures.push({ what: `POST /api/topology ${q}`, requestsPerSec: r.rps, p99Ms: r.p99 });
    }
    return { reference: { what: "GET /api", requestsPerSec: ref.rps, p99Ms: ref.p99 }, figures };
  } finally {
    await app.close();
  }
}
