// The Gremlin engine over a small lab-shaped graph: a host owning two namespaces and a bridge, a veth pair
// per namespace with one end on the bridge; history through a GraphSource whose at()/during() answer
// from fixed graphs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryGraph, type GraphEdge, type GraphNode } from "./graph.js";
import { evaluateGremlin, type GraphSource } from "./evaluate.js";
import { GremlinError, parseGremlin } from "./parse.js";

const T = Date.UTC(2026, 10, 23, 12);
const node = (ID: string, Metadata: Record<string, unknown>, CreatedAt = T): GraphNode => ({
  ID,
  Host: "h1",
  Origin: "agent.h1",
  CreatedAt,
  UpdatedAt: CreatedAt,
  Revision: 1,
  Metadata,
});
const edge = (Parent: string, Child: string, RelationType: string): GraphEdge => ({
  ...node(`${Parent}-${RelationType}-${Child}`, { RelationType }),
  Parent,
  Child,
});

function lab(): MemoryGraph {
  const nodes = [
    node("host", { Name: "h1", Type: "host" }),
    node("ns1", { Name: "ns1", Type: "netns" }, T + 1),
    node("ns2", { Name: "ns2", Type: "netns" }, T + 2),
    node("br", { Name: "br0", Type: "bridge", MTU: 1500, State: "UP" }, T + 3),
    node("eth-ns1", { Name: "eth0", Type: "veth", MTU: 1500, State: "UP", IPV4: ["198.18.0.1/24"], MAC: "02:00:00:00:00:01" }, T + 4),
    node("eth-ns2", { Name: "eth0", Type: "veth", MTU: 9000, State: "DOWN", IPV4: ["198.18.0.2/24"], IPV6: ["fd00::2/64"] }, T + 5),
    node("p1", { Name: "veth-ns1", Type: "veth", MTU: 1500, State: "UP", Ovs: { Metric: { RxBytes: 10 } } }, T + 6),
    node("p2", { Name: "veth-ns2", Type: "veth", MTU: 1500, State: "UP", Ovs: { Metric: { RxBytes: 32 } } }, T + 7),
    node("lo1", { Name: "lo", Type: "device", Sockets: [{ Protocol: "TCP", LocalPort: 8080, State: "LISTEN", Name: "srv" }] }, T + 8),
  ];
  const edges = [
    edge("host", "ns1", "ownership"),
    edge("host", "ns2", "ownership"),
    edge("host", "br", "ownership"),
    edge("ns1", "eth-ns1", "ownership"),
    edge("ns1", "lo1", "ownership"),
    edge("ns2", "eth-ns2", "ownership"),
    edge("host", "p1", "ownership"),
    edge("host", "p2", "ownership"),
    edge("eth-ns1", "p1", "layer2"),
    edge("eth-ns2", "p2", "layer2"),
    edge("br", "p1", "ownership"),
    edge("br", "p2", "ownership"),
    edge("br", "p1", "layer2"),
    edge("br", "p2", "layer2"),
  ];
  return new MemoryGraph(nodes, edges);
}

const live = lab();
/** Before T + 5 s: ns2 and its interfaces did not exist yet. */
const early = new MemoryGraph(
  [...live.nodes()].filter((n) => !["ns2", "eth-ns2", "p2"].includes(n.ID)),
  [...live.edges()],
);
const calls: string[] = [];
const source: GraphSource = {
  live: () => live,
  at: async (t) => {
    calls.push(`at ${t}`);
    return t < T + 5000 ? early : live;
  },
  during: async (t0, t1) => {
    calls.push(`during ${t0} ${t1}`);
    return live;
  },
};
const run = async (q: string) => (await evaluateGremlin(q, source, { now: T + 60_000 })).json;
const ids = async (q: string) => ((await run(q)) as GraphNode[]).map((n) => n.ID).sort();
const names = async (q: string) => ((await run(q)) as GraphNode[]).map((n) => n.Metadata.Name);

test("core steps: V, E, Has and its predicates, traversals, counting and projections", async () => {
  assert.deepEqual(await run("G.V().Count()"), [9]);
  assert.deepEqual(await ids("G.V('br')"), ["br"]);
  assert.deepEqual(await run("G.V('nope')"), []);
  assert.deepEqual(await ids("G.V().Has('Type', 'netns')"), ["ns1", "ns2"]);
  assert.deepEqual(await ids("g.v().has('Type', 'netns')"), ["ns1", "ns2"], "step names are case-insensitive (keys are not)");
  assert.deepEqual(await ids("G.V('Type', 'netns')"), ["ns1", "ns2"]);
  assert.deepEqual(await ids("G.V().Has('Name', 'eth0', 'MTU', 9000)"), ["eth-ns2"]);
  assert.deepEqual(await ids("G.V().HasEither('Type', 'host', 'Type', 'bridge')"), ["br", "host"]);
  assert.deepEqual(await ids("G.V().HasKey('IPV6')"), ["eth-ns2"]);
  assert.deepEqual(await ids("G.V().Has('IPV6')"), ["eth-ns2"], "Has with one key is HasKey");
  assert.equal((await ids("G.V().HasNot('MTU')")).length, 4);
  assert.deepEqual(await ids("G.V().Has('Type', 'veth', 'State', NE('UP'))"), ["eth-ns2"]);
  assert.deepEqual(await ids("G.V().Has('MTU', NE(1500))"), ["eth-ns2"], "NE needs the key");
  assert.equal((await ids("G.V().Has('MTU', NEE(1500))")).length, 5, "NEE: absent or different");
  assert.deepEqual(await ids("G.V().Has('Type', Within('host', 'bridge'))"), ["br", "host"]);
  assert.deepEqual(await ids("G.V().Has('Type', Without('veth', 'netns', 'device'))"), ["br", "host"]);
  assert.deepEqual(await ids("G.V().Has('Name', Regex('veth-.*'))"), ["p1", "p2"]);
  assert.deepEqual(await ids("G.V().Has('Name', Regex('^br.$'))"), ["br"], "anchors written by the user are harmless");
  assert.deepEqual(await ids("G.V().Has('MTU', Gt(1500))"), ["eth-ns2"]);
  assert.deepEqual(await ids("G.V().Has('MTU', Gte(1500), 'Type', 'bridge')"), ["br"]);
  assert.deepEqual(await ids("G.V().Has('MTU', Lt(9000))").then((x) => x.length), 4);
  assert.deepEqual(await ids("G.V().Has('MTU', Inside(1000, 9000))").then((x) => x.length), 4);
  assert.deepEqual(await ids("G.V().Has('MTU', Between(1500, 9000))").then((x) => x.length), 4);
  assert.deepEqual(await ids("G.V().Has('MTU', Outside(1000, 2000))"), ["eth-ns2"], "Outside works (Skydive's did not)");
  assert.deepEqual(await ids("G.V().Has('IPV4', IPV4Range('198.18.0.0/31'))"), ["eth-ns1"]);
  assert.deepEqual(await ids("G.V().Has('IPV4', IPV4Range('198.18.0.0/15'))"), ["eth-ns1", "eth-ns2"], "list values match element-wise");
  assert.deepEqual(await ids("G.V().Has('IPV6', IPRange('fd00::/8'))"), ["eth-ns2"]);
  assert.deepEqual(await ids("G.V().Has('Ovs.Metric.RxBytes', Gt(20))"), ["p2"], "dotted paths into nested metadata");
  assert.deepEqual(await ids("G.V().Has('ID', 'host')"), ["host"], "identity fields answer keys Metadata lacks");

  assert.deepEqual(await ids("G.V('host').Out('Type', 'netns')"), ["ns1", "ns2"]);
  assert.deepEqual(await ids("G.V('p1').In()"), ["br", "br", "eth-ns1", "host"], "no implicit dedup");
  assert.deepEqual(await ids("G.V('p1').In().Dedup()"), ["br", "eth-ns1", "host"]);
  assert.deepEqual(await ids("G.V('eth-ns1').Both()"), ["ns1", "p1"]);
  assert.deepEqual(await run("G.V('br').OutE('RelationType', 'layer2').Count()"), [2]);
  assert.deepEqual(await run("G.V('p1').InE().Count()"), [4]);
  assert.deepEqual(await run("G.V('eth-ns1').BothE().Count()"), [2]);
  assert.deepEqual(await ids("G.E().Has('RelationType', 'layer2').OutV().Dedup()"), ["br", "eth-ns1", "eth-ns2"]);
  assert.deepEqual(await ids("G.E().Has('RelationType', 'layer2').InV('Name', 'veth-ns2').Dedup()"), ["p2"]);
  assert.deepEqual(await run("G.E().Has('RelationType', 'layer2').BothV().Dedup().Count()"), [5]);
  assert.deepEqual(await run("G.V().Has('Type', 'veth').Dedup('MTU').Count()"), [2]);

  assert.deepEqual(await names("G.V().Has('Type', 'netns').Sort(DESC, 'Name')"), ["ns2", "ns1"]);
  assert.deepEqual(await names("G.V().Has('Type', 'netns').Sort()"), ["ns1", "ns2"], "CreatedAt by default");
  assert.deepEqual(await names("G.V().Sort().Range(1, 3)"), ["ns1", "ns2"]);
  assert.deepEqual(await names("G.V().Sort().Limit(1)"), ["h1"]);
  assert.deepEqual(await run("G.V().Has('Type', 'netns').Values('Name')").then((x) => x.sort()), ["ns1", "ns2"]);
  assert.deepEqual(await run("G.V('eth-ns2').ValueMap('Name', 'MTU', 'Nope')"), [{ Name: "eth0", MTU: 9000 }]);
  assert.deepEqual(await run("G.V('br').Keys()"), ["MTU", "Name", "State", "Type"]);
  assert.deepEqual(await run("G.V().Has('Type', 'veth').Sum('MTU')"), [1500 * 3 + 9000]);
  assert.deepEqual(await run("G.V().Sockets().Has('State', 'LISTEN').Values('LocalPort')"), [8080]);
  assert.deepEqual(await run("G.V().Sockets().Values('NodeID')"), ["lo1"]);
});

test("graph steps: As/Select, ShortestPathTo, SubGraph, Descendants, Ascendants, Neighbors, Union, Or", async () => {
  assert.deepEqual(await ids("G.V().Has('Type', 'netns').As('a').G.V().Has('Type', 'bridge').As('b').Select('a', 'b')"), ["br", "ns1", "ns2"]);
  const paths = (await run("G.V('eth-ns1').ShortestPathTo(Metadata('Type', 'bridge'))")) as GraphNode[][];
  assert.deepEqual(
    paths.map((p) => p.map((n) => n.ID)),
    [["eth-ns1", "p1", "br"]],
  );
  const l2 = (await run("G.V('eth-ns1').ShortestPathTo(Metadata('Name', 'eth0', 'MTU', 9000), Metadata('RelationType', 'layer2'))")) as GraphNode[][];
  assert.deepEqual(
    l2.map((p) => p.map((n) => n.ID)),
    [["eth-ns1", "p1", "br", "p2", "eth-ns2"]],
    "over layer2 edges only",
  );
  const [sub] = (await run("G.E().Has('RelationType', 'layer2').SubGraph()")) as { Nodes: GraphNode[]; Edges: GraphEdge[] }[];
  assert.equal(sub!.Edges.length, 4);
  assert.deepEqual(sub!.Nodes.map((n) => n.ID).sort(), ["br", "eth-ns1", "eth-ns2", "p1", "p2"]);
  assert.deepEqual(await ids("G.E().Has('RelationType', 'layer2').SubGraph().V().Has('Name', 'eth0')"), ["eth-ns1", "eth-ns2"]);
  assert.deepEqual(await run("G.V().Has('Type', 'netns').SubGraph().E().Count()"), [0], "no edges between the two namespaces");

  assert.deepEqual(await ids("G.V('ns1').Descendants()"), ["eth-ns1", "lo1", "ns1"]);
  assert.equal((await ids("G.V('host').Descendants(0)")).length, 9);
  assert.equal((await ids("G.V('host').Descendants(1)")).length, 6);
  assert.deepEqual(await ids("G.V('eth-ns1').Ascendants(0)"), ["eth-ns1", "host", "ns1"]);
  assert.deepEqual(await ids("G.V('eth-ns1').Neighbors('RelationType', 'layer2', 2)"), ["br", "eth-ns1", "p1"]);
  assert.deepEqual(await ids("G.V('eth-ns1').Neighbors('RelationType', 'layer2', 0)"), ["br", "eth-ns1", "eth-ns2", "p1", "p2"]);

  assert.deepEqual(await ids("G.V('ns1').Union(Out('Type', 'veth'), In())"), ["eth-ns1", "host"]);
  assert.deepEqual(await ids("G.V().Has('Type', 'netns').Union(G.V('br'), Out().Has('Name', 'lo'))"), ["br", "lo1"]);
  assert.deepEqual(await ids("G.V().Or(Has('Type', 'bridge'), Has('MTU', 9000))"), ["br", "eth-ns2"]);
  assert.deepEqual(await ids("G.V().Has('Type', 'netns').Or(Out().Has('State', 'DOWN'))"), ["ns2"]);
});

test("time context: At and Context ask the source for the graph then; relative times, durations, NOW and FOREVER", async () => {
  calls.length = 0;
  assert.deepEqual(await run(`G.At(${T / 1000 + 4}).V().Has('Type', 'netns').Count()`), [1], "unix seconds");
  assert.deepEqual(await run(`G.At(${T + 60_000}).V().Has('Type', 'netns').Count()`), [2], "unix ms");
  await run("G.Context('-1m').V()");
  await run("G.At('-1h', 3600).V()");
  await run("G.At(NOW, FOREVER).V()");
  await run("G.At('Mon, 23 Nov 2026 12:00:00 GMT', '90s').V()");
  assert.deepEqual(calls, [
    `at ${T + 4000}`,
    `at ${T + 60_000}`,
    `at ${T}`,
    `during ${T + 60_000 - 2 * 3_600_000} ${T + 60_000 - 3_600_000}`,
    `during 0 ${T + 60_000}`,
    `during ${T - 90_000} ${T}`,
  ]);
});

test("a bad query gets the position and what was expected there", async () => {
  const bad = async (q: string, position: number, re: RegExp) => {
    const err = await evaluateGremlin(q, source).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof GremlinError, `${q}: ${String(err)}`);
    assert.equal(err.position, position, `${q}: ${err.message}`);
    assert.match(err.message, re, q);
  };
  await bad("V()", 0, /expected G/);
  await bad("G.V().Has('Name' 'eth0')", 17, /expected ',' or '\)' at 17/);
  await bad("G.V().Hass('Name')", 6, /unknown step 'Hass'/);
  await bad("G.V().Has('Name', Regexp('x'))", 18, /unknown predicate 'Regexp'/);
  await bad("G.V().Has('Name', 'a', 'Type')", 23, /key\/value pairs.*after the key at 23/);
  await bad("G.V().Has('Name', Regex('('))", 24, /invalid regular expression/);
  await bad("G.V(", 4, /expected an argument or '\)'/);
  await bad("G.V().Has('Name', 'x", 18, /unterminated string/);
  await bad("G.V().OutV()", 6, /OutV\(\) applies to edges, not to nodes/);
  await bad("G.V().Count().Out()", 14, /applies to nodes, not to a number/);
  await bad("G.V().At('-1h')", 6, /comes right after G/);
  await bad("G.At('yesterday').V()", 5, /expected a time/);
  await bad("G.V().Has('IPV4', IPV4Range('fd00::/8'))", 28, /IPv4 CIDR/);
  await bad("G.V().Select('x')", 13, /no As\('x'\)/);
  await bad("G.V().Flows()", 6, /flow store/);
  await bad(`G${".Out()".repeat(201)}`, 1 + 6 * 200 + 1, /more than 200 steps/);
  await bad(`G.V().Has('x', ${"NE(".repeat(9)}1${")".repeat(9)})`, 39, /nested deeper/);
});

test("cost is bounded: the element cap and the time limit", async () => {
  const big = new MemoryGraph(
    Array.from({ length: 5000 }, (_, i) => node(`n${i}`, { Type: "veth" })),
    Array.from({ length: 4999 }, (_, i) => edge(`n${i}`, `n${i + 1}`, "layer2")),
  );
  const src: GraphSource = { live: () => big, at: async () => big, during: async () => big };
  await assert.rejects(evaluateGremlin("G.V()", src, { maxItems: 1000 }), (e: GremlinError) => e.position === 2 && /more than 1000 elements/.test(e.message));
  // Each Out() over every node: 5000 × 200 steps of work, far beyond 1 ms.
  await assert.rejects(evaluateGremlin(`G.V()${".Both()".repeat(60)}`, src, { timeoutMs: 1, maxItems: 1e9 }), /time limit/);
  assert.deepEqual((await evaluateGremlin("G.V().Count()", src)).json, [5000]);
});

test("the parser keeps every step's and argument's position", () => {
  const q = parseGremlin("G.V().Has('Name', Within('a', 'b')).Out()");
  assert.deepEqual(
    q.steps.map((s) => [s.name, s.pos]),
    [
      ["V", 2],
      ["Has", 6],
      ["Out", 36],
    ],
  );
  assert.deepEqual(q.steps[1]!.args[1], {
    kind: "call",
    name: "Within",
    pos: 18,
    args: [
      { kind: "string", value: "a", pos: 25 },
      { kind: "string", value: "b", pos: 30 },
    ],
  });
});
