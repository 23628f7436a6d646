// The API app on a fixed graph and on the topology index: routes, Gremlin answers and errors, DOT, the
// OpenAPI document, bounded input.
import { test } from "node:test";
import assert from "node:assert/strict";
import pino from "pino";
import { createRegistry } from "@skystream/common";
import { MemoryGraph, type GraphEdge, type GraphNode } from "../gremlin/graph.js";
import { evaluateGremlin, type GraphSource } from "../gremlin/evaluate.js";
import { TopologyIndex } from "../graph/topology-index.js";
import { IndexGraph } from "../graph/index-graph.js";
import type { TopologyRevision } from "../storage/clickhouse/index.js";
import { apiConfig } from "./config.js";
import { buildApi } from "./server.js";

const T = Date.UTC(2026, 10, 23, 12);
const n = (ID: string, Metadata: Record<string, unknown>): GraphNode => ({
  ID,
  Host: "h1",
  Origin: "agent.h1",
  CreatedAt: T,
  UpdatedAt: T,
  Revision: 1,
  Metadata,
});
const e = (Parent: string, Child: string, RelationType: string): GraphEdge => ({ ...n(`${Parent}>${Child}`, { RelationType }), Parent, Child });
const graph = new MemoryGraph(
  [
    n("host-1", { Name: "h1", Type: "host" }),
    n("ns-1", { Name: "blue", Type: "netns" }),
    n("if-1", { Name: "eth0", Type: "veth", State: "DOWN", IPV4: ["198.18.0.1/24"] }),
  ],
  [e("host-1", "ns-1", "ownership"), e("ns-1", "if-1", "ownership")],
);
const source: GraphSource = { live: () => graph, at: async () => graph, during: async () => graph };

async function app(cfg: Record<string, unknown> = {}) {
  const a = await buildApi(apiConfig.parse(cfg), { source, metrics: createRegistry("api-test"), log: pino({ level: "silent" }) });
  await a.ready();
  return a;
}

test("/api/topology: the live graph, Gremlin results, DOT, and Skydive's answers to empty and bad queries", async (t) => {
  const a = await app();
  t.after(() => a.close());
  const whole = await a.inject({ method: "GET", url: "/api/topology" });
  assert.equal(whole.statusCode, 200);
  assert.equal(whole.json().Nodes.length, 3);
  assert.equal(whole.json().Edges.length, 2);

  const q = (GremlinQuery: string, headers: Record<string, string> = {}) =>
    a.inject({ method: "POST", url: "/api/topology", payload: { GremlinQuery }, headers });
  const netns = await q("G.V().Has('Type', 'netns')");
  assert.equal(netns.statusCode, 200);
  assert.deepEqual(
    netns.json().map((x: GraphNode) => x.Metadata.Name),
    ["blue"],
  );
  assert.deepEqual((await q("G.V().Count()")).json(), [3]);
  assert.deepEqual((await q("G.V('ns-1').Out().Values('Name')")).json(), ["eth0"]);
  const sub = (await q("G.E().SubGraph()")).json();
  assert.equal(sub.length, 1);
  assert.deepEqual(Object.keys(sub[0]).sort(), ["Edges", "Nodes"]);

  const dot = await q("G.V()", { accept: "text/vnd.graphviz" });
  assert.equal(dot.statusCode, 200);
  assert.match(dot.headers["content-type"] as string, /text\/vnd\.graphviz/);
  assert.match(dot.body, /^digraph skystream \{/);
  assert.match(dot.body, /"ns-1" -> "if-1" \[label="ownership"\]/);
  assert.match(dot.body, /"if-1" \[label="eth0-if-1\\nType: veth\\nState: DOWN\\nIPV4: 198\.18\.0\.1\/24", color=red\]/);
  assert.equal((await a.inject({ method: "GET", url: "/api/topology", headers: { accept: "text/vnd.graphviz" } })).statusCode, 200);
  assert.equal((await q("G.V().Count()", { accept: "text/vnd.graphviz" })).statusCode, 406);

  assert.equal((await q("   ")).statusCode, 204);
  const bad = await q("G.V().Has('Name' 'eth0')");
  assert.equal(bad.statusCode, 400);
  assert.deepEqual(bad.json(), { error: "expected ',' or ')' at 17, found string \"eth0\"", statusCode: 400, position: 17, expected: "',' or ')'" });
  const wrong = await q("G.V().OutV()");
  assert.equal(wrong.statusCode, 400);
  assert.equal(wrong.json().position, 6);
});

test("bad requests get a 4xx with a message: malformed JSON, wrong types, unknown fields, huge bodies, huge results, unknown routes", async (t) => {
  const a = await app({ body_limit: 4096, max_items: 2 });
  t.after(() => a.close());
  const post = (payload: string, type = "application/json") => a.inject({ method: "POST", url: "/api/topology", payload, headers: { "content-type": type } });
  const malformed = await post("{nope");
  assert.equal(malformed.statusCode, 400);
  assert.match(malformed.json().error, /JSON/);
  assert.equal((await post(JSON.stringify({ GremlinQuery: 5 }))).statusCode, 400);
  assert.equal((await post(JSON.stringify({}))).statusCode, 400);
  assert.match((await post(JSON.stringify({ GremlinQuery: "G.V()", Extra: 1 }))).json().error, /additional/i);
  assert.equal((await post(JSON.stringify({ GremlinQuery: `G.V().Has('Name', '${"x".repeat(5000)}')` }))).statusCode, 413);
  assert.match((await post("G.V()", "text/plain")).json().error, /body must be object/);
  const yaml = await post("GremlinQuery: G.V().Limit(2).Count()\n", "application/yaml");
  assert.equal(yaml.statusCode, 200, yaml.body);
  assert.deepEqual(yaml.json(), [2], "a YAML body, as Skydive took");
  assert.match((await post("GremlinQuery: [unclosed\n", "application/yaml")).json().error, /YAML body/);
  assert.equal((await post("GremlinQuery: 5\n", "text/yaml")).statusCode, 400, "checked like JSON");
  const big = await post(JSON.stringify({ GremlinQuery: "G.V()" }));
  assert.equal(big.statusCode, 400);
  assert.match(big.json().error, /more than 2 elements/);
  const none = await a.inject({ method: "GET", url: "/api/nope" });
  assert.equal(none.statusCode, 404);
  assert.match(none.json().error, /no route GET \/api\/nope/);
});

test("the OpenAPI document describes every route with its schemas; /api and /metrics answer", async (t) => {
  const a = await app();
  t.after(() => a.close());
  const doc = (await a.inject({ method: "GET", url: "/api/openapi.json" })).json();
  assert.equal(doc.openapi, "3.0.3");
  assert.ok(doc.paths["/api/topology"].get && doc.paths["/api/topology"].post);
  assert.deepEqual(doc.paths["/api/topology"].post.requestBody.content["application/json"].schema.required, ["GremlinQuery"]);
  assert.ok(doc.paths["/api"].get);
  assert.equal((await a.inject({ method: "GET", url: "/api/docs" })).statusCode < 400, true);
  assert.equal((await a.inject({ method: "GET", url: "/api" })).json().Service, "api");
  assert.match((await a.inject({ method: "GET", url: "/metrics" })).body, /skystream_process_cpu/);
});

const row = (Kind: "node" | "edge", ID: string, ValidFrom: number, md: Record<string, unknown>, extra: Partial<TopologyRevision> = {}): TopologyRevision => ({
  Kind,
  ID,
  Origin: "agent.h1",
  Host: "h1",
  Type: String(md.Type ?? ""),
  Name: String(md.Name ?? ""),
  Parent: "",
  Child: "",
  RelationType: String(md.RelationType ?? ""),
  Metadata: JSON.stringify(md),
  CreatedAt: T,
  UpdatedAt: ValidFrom,
  DeletedAt: null,
  Revision: 1,
  ValidFrom,
  ...extra,
});

test("the topology index as a query graph: the graph at an instant and over a period, edges only with both ends", () => {
  const index = new TopologyIndex(3_600_000);
  index.apply(row("node", "h", T, { Name: "h1", Type: "host" }));
  index.apply(row("node", "ns", T, { Name: "blue", Type: "netns" }));
  index.apply(row("edge", "h-ns", T, { RelationType: "ownership" }, { Parent: "h", Child: "ns" }));
  index.apply(row("node", "if", T + 1000, { Name: "eth0", Type: "veth", MTU: 1500 }));
  index.apply(row("edge", "ns-if", T + 1000, { RelationType: "ownership" }, { Parent: "ns", Child: "if" }));
  index.apply(row("node", "if", T + 2000, { Name: "eth0", Type: "veth", MTU: 9000 }));
  index.apply({ ...row("node", "ns", T + 3000, { Name: "blue", Type: "netns" }), Deleted: 1, DeletedAt: T + 3000 });

  const ids = (g: IndexGraph) => [...g.nodes()].map((x) => x.ID).sort();
  assert.deepEqual(ids(new IndexGraph(index, T + 500)), ["h", "ns"]);
  const mid = new IndexGraph(index, T + 1500);
  assert.deepEqual(ids(mid), ["h", "if", "ns"]);
  assert.equal(mid.node("if")!.Metadata.MTU, 1500);
  assert.deepEqual(
    mid.outEdges("ns").map((x) => x.Child),
    ["if"],
  );
  assert.deepEqual(
    mid.inEdges("ns").map((x) => x.Parent),
    ["h"],
  );
  assert.equal(new IndexGraph(index, T + 2500).node("if")!.Metadata.MTU, 9000);
  const after = new IndexGraph(index, T + 3500);
  assert.deepEqual(ids(after), ["h", "if"]);
  assert.equal([...after.edges()].length, 0, "edges to the deleted namespace are gone with it");
  assert.deepEqual(ids(new IndexGraph(index, T + 500, T + 3500)), ["h", "if", "ns"], "over a period: everything that existed in it");
  assert.equal(new IndexGraph(index, T + 500, T + 3500).node("if")!.Metadata.MTU, 9000, "in its last revision there");
});

test("IPV4Range from the index of addresses: the same answers as a scan, as of the query's time, after addresses change", async () => {
  const index = new TopologyIndex(3_600_000);
  for (let i = 0; i < 40; i++) index.apply(row("node", `n${i}`, T, { Name: `eth${i}`, Type: "veth", IPV4: [`198.18.${i % 4}.${i}/24`] }));
  index.apply(row("node", "one", T, { Name: "lo", Type: "device", IPV4: "198.18.1.200/32" }));
  const q = async (text: string, at: number) => {
    const g = new IndexGraph(index, at);
    const source = { live: () => g, at: async () => g, during: async () => g };
    const scan = new MemoryGraph([...g.nodes()]);
    const [indexed, scanned] = await Promise.all([
      evaluateGremlin(text, source),
      evaluateGremlin(text, { live: () => scan, at: async () => scan, during: async () => scan }),
    ]);
    assert.deepEqual(indexed.json, scanned.json, text);
    return indexed.json;
  };
  assert.deepEqual(await q("G.V().Has('IPV4', IPV4Range('198.18.1.0/24')).Count()", T + 1), [11], "ten interfaces and a bare address");
  assert.deepEqual(await q("G.V().Has('Type', 'veth', 'IPV4', IPRange('198.18.2.0/28')).Values('Name')", T + 1), ["eth2", "eth6", "eth10", "eth14"]);
  // n5 moves to another network: the index learns the new address, the old one no longer matches now.
  index.apply(row("node", "n5", T + 1000, { Name: "eth5", Type: "veth", IPV4: ["198.19.0.5/16"] }));
  assert.deepEqual(await q("G.V().Has('IPV4', IPV4Range('198.19.0.0/16')).Values('Name')", T + 1001), ["eth5"]);
  assert.deepEqual(await q("G.V().Has('IPV4', IPV4Range('198.18.1.0/24')).Count()", T + 1001), [10]);
  assert.deepEqual(await q("G.V().Has('IPV4', IPV4Range('198.18.1.0/24')).Count()", T + 500), [11], "at an earlier time, the earlier address");
});
