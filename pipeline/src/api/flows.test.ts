// Flows() in Gremlin against the embedded ClickHouse: filters pushed down as SQL, each flow its latest
// update in the time context, counts and sums in the engine, capture nodes from the graph.
import { test } from "node:test";
import assert from "node:assert/strict";
import pino from "pino";
import type { FlowRecord } from "@skystream/schemas";
import { syntheticFlow } from "@skystream/schemas/testing/flows";
import { flowStorage } from "../storage/clickhouse/testing.js";
import { MemoryGraph, type GraphNode } from "../gremlin/graph.js";
import { evaluateGremlin, type GraphSource } from "../gremlin/evaluate.js";
import { GremlinError } from "../gremlin/parse.js";
import { ClickhouseFlowStore } from "./flow-store.js";

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);

test("Flows() runs in ClickHouse: filters, shortcuts, predicates, latest update per flow, time context, graph steps", async (t) => {
  const { storage, insert } = await flowStorage(t, "gflows");
  // 40 flows an hour ago (ended then), then 20 of them again a minute ago with more bytes (their second update),
  // and one UDP flow between namespaces with its enrichment.
  const old = Array.from({ length: 40 }, (_, i) => syntheticFlow(i, NOW - 3_600_000, "h1", 40));
  const again = old.slice(0, 20).map((f) => ({
    ...f,
    Last: NOW - 60_000,
    Metric: { ...f.Metric!, ABBytes: f.Metric!.ABBytes + 5000, Last: NOW - 60_000 },
    LastUpdateMetric: { ...f.LastUpdateMetric!, ABBytes: 5000, Start: NOW - 120_000, Last: NOW - 60_000 },
  }));
  const udp: FlowRecord = {
    ...syntheticFlow(100, NOW - 30_000, "h2"),
    UUID: "udp-flow",
    LayersPath: "Ethernet/IPv6/UDP",
    Network: { Protocol: "IPV6", A: "fd00::1", B: "fd00::2", ID: 0 },
    Transport: { Protocol: "UDP", A: 5353, B: 53, ID: 0 },
    NodeTID: "tid-veth",
    Enrichment: {
      CaptureNode: { ID: "veth", Name: "veth0", Type: "veth", Host: "h2" },
      A: { Node: { ID: "eth-a", Name: "eth0", Type: "veth", Host: "h2" }, Netns: "a", Process: null, Container: "", K8sNamespace: "", K8sPod: "" },
      B: {
        Node: { ID: "eth-b", Name: "eth0", Type: "veth", Host: "h2" },
        Netns: "b",
        Process: { Pid: 7, Name: "dnsd", Process: "/usr/sbin/dnsd", Cmdline: "dnsd" },
        Container: "",
        K8sNamespace: "",
        K8sPod: "",
      },
      Server: "B",
    },
  };
  await insert([...old, ...again, udp]);

  const node = (ID: string, md: Record<string, unknown>): GraphNode => ({
    ID,
    Host: "h2",
    Origin: "agent.h2",
    CreatedAt: NOW,
    UpdatedAt: NOW,
    Revision: 1,
    Metadata: md,
  });
  const graph = new MemoryGraph(
    [
      node("veth", { Name: "veth0", Type: "veth", TID: "tid-veth" }),
      node("eth-a", { Name: "eth0", Type: "veth", TID: "tid-a" }),
      node("eth-b", { Name: "eth0", Type: "veth", TID: "tid-b", IPV6: ["fd00::2/64"] }),
      node("cap3", { Name: "cap3", Type: "device", TID: "tid-3" }),
      // The sockets socketinfo saw in the two namespaces: the client's exact one, the server's listener.
      node("ns-a", {
        Name: "a",
        Type: "netns",
        Sockets: [{ Protocol: "UDP", LocalAddress: "fd00::1", LocalPort: 5353, RemoteAddress: "fd00::2", RemotePort: 53, State: "", Pid: 9, Name: "resolver" }],
      }),
      node("ns-b", {
        Name: "b",
        Type: "netns",
        Sockets: [
          { Protocol: "UDP", LocalAddress: "::", LocalPort: 53, RemoteAddress: "::", RemotePort: 0, State: "", Pid: 7, Name: "dnsd" },
          { Protocol: "TCP", LocalAddress: "::", LocalPort: 22, RemoteAddress: "::", RemotePort: 0, State: "LISTEN", Pid: 1, Name: "sshd" },
        ],
      }),
      // Another namespace listening on the same port, without the flow's address: not the flow's server.
      node("ns-c", {
        Name: "c",
        Type: "netns",
        Sockets: [{ Protocol: "UDP", LocalAddress: "::", LocalPort: 53, RemoteAddress: "::", RemotePort: 0, State: "", Pid: 8, Name: "otherdns" }],
      }),
    ],
    [{ ...node("own-b", {}), Parent: "ns-b", Child: "eth-b", Metadata: { RelationType: "ownership" } }],
  );
  const source: GraphSource = { live: () => graph, at: async () => graph, during: async () => graph, flows: new ClickhouseFlowStore(storage) };
  const run = async (q: string) => (await evaluateGremlin(q, source, { now: NOW, flowExpireMs: 600_000 })).json;

  assert.deepEqual(await run("G.Flows().Count()"), [21], "live: the flows seen in the last 10 minutes");
  assert.deepEqual(await run("G.At(NOW, '2h').Flows().Count()"), [41], "over two hours: every flow once");
  assert.deepEqual(await run(`G.At(${NOW - 3_600_000}).Flows().Count()`), [40], "an hour ago");
  assert.deepEqual(await run("G.At(NOW, '2h').Flows().Has('Transport.Protocol', 'UDP').Values('UUID')"), ["udp-flow"]);
  assert.deepEqual(await run("G.Flows().Has('Network', 'fd00::2').Count()"), [1], "Network matches either end");
  assert.deepEqual(await run("G.Flows().Has('Network.A', IPV4Range('198.18.0.0/28')).Count()"), [16]);
  assert.deepEqual(await run("G.Flows().Has('Network', IPRange('fd00::/8')).Count()"), [1]);
  assert.deepEqual(await run("G.Flows().Has('Transport.B', 53).Values('Network.B')"), ["fd00::2"]);
  assert.deepEqual(await run("G.Flows().Has('Transport.B', Within(53, 443)).Count()"), [21]);
  assert.deepEqual(await run("G.Flows().Has('Transport.Protocol', NE('TCP')).Count()"), [1]);
  assert.deepEqual(await run("G.Flows().HasEither('Transport.B', 53, 'Network.A', '198.18.0.3').Count()"), [2]);
  assert.deepEqual(await run("G.Flows().Has('LayersPath', Regex('.*/UDP')).Count()"), [1]);
  assert.deepEqual(await run("G.Flows().HasKey('B.Process.Name').Values('B.Process.Name')"), ["dnsd"]);
  // The latest update of each flow: the second one, with 5000 more bytes.
  const firstTwenty = old.slice(0, 20).reduce((s, f) => s + f.Metric!.ABBytes + 5000, 0);
  assert.deepEqual(await run("G.Flows().Has('Transport.Protocol', 'TCP').Sum('Metric.ABBytes')"), [firstTwenty]);
  assert.deepEqual(await run("G.Flows().Has('Metric.ABBytes', Gt(5300)).Count()"), [11], "metric filters on the latest update");
  const sorted = (await run("G.Flows().Has('Transport.Protocol', 'TCP').Sort(DESC, 'Metric.ABBytes').Limit(3).Values('Metric.ABBytes')")) as number[];
  assert.deepEqual(sorted, [5700, 5700, 5600]);
  assert.deepEqual(await run("G.Flows().Sort('Network.A').Range(1, 3).Values('Network.A')"), ["198.18.0.1", "198.18.0.2"]);
  assert.deepEqual(await run("G.Flows().Dedup('Transport.B').Count()"), [2]);

  const [flow] = (await run("G.Flows().Has('UUID', 'udp-flow')")) as Record<string, any>[];
  assert.deepEqual(flow!.Network, { Protocol: "IPV6", A: "fd00::1", B: "fd00::2", ID: 0 }, "Skydive's nested shape");
  assert.equal(flow!.ICMP, null, "an absent layer is null");
  assert.equal(flow!.B.Process.Pid, 7);
  assert.equal(flow!.Last, NOW - 30_000);

  assert.deepEqual(((await run("G.Flows().Has('UUID', 'udp-flow').Nodes()")) as GraphNode[]).map((n) => n.ID).sort(), ["eth-a", "eth-b", "veth"]);
  assert.deepEqual(
    ((await run("G.Flows().Has('UUID', 'udp-flow').In()")) as GraphNode[]).map((n) => n.ID),
    ["eth-a"],
  );
  assert.deepEqual(
    ((await run("G.Flows().Has('UUID', 'udp-flow').Out()")) as GraphNode[]).map((n) => n.ID),
    ["eth-b"],
  );
  assert.deepEqual(
    ((await run("G.Flows().Has('Transport.B', 443).Hops()")) as GraphNode[]).map((n) => n.ID),
    ["cap3"],
  );
  assert.deepEqual(await run("G.V().Has('Name', 'veth0').Flows().Values('UUID')"), ["udp-flow"], "flows captured on the nodes");
  assert.deepEqual(await run("G.V().Has('Name', 'cap3').Flows().Count()"), [2], "tid-3: flows 3 and 19 of the live ones");
  const groups = (await run("G.At(NOW, '2h').Flows().Group().MoreThan(1)")) as Record<string, unknown[]>[];
  assert.deepEqual(Object.keys(groups[0]!), [], "no conversation was captured twice");
  assert.deepEqual(await run("G.V().Or(Flows().Has('Transport.B', 53)).Values('Name')"), ["veth0"]);

  // Sockets(): both ends' sockets, by 5-tuple or by the listener on the port.
  assert.deepEqual(
    await run("G.At(NOW, '2h').Flows().Has('UUID', 'udp-flow').Sockets().Values('Name')"),
    ["resolver", "dnsd"],
    "dnsd's namespace holds the address; otherdns's does not",
  );
  assert.deepEqual(await run("G.At(NOW, '2h').Flows().Sockets().Has('Name', 'dnsd').Values('FlowUUID')"), ["udp-flow"]);
  assert.deepEqual(await run("G.At(NOW, '2h').Flows().Has('UUID', 'udp-flow').Sockets().Has('Pid', 9).Values('NodeID')"), ["ns-a"]);

  // Metrics(): each update period of each flow, as SQL; Sum() and Aggregates() fold them in the engine.
  const one = old[0]!.UUID;
  const [byFlow] = (await run(`G.At(NOW, '2h').Flows().Has('UUID', '${one}').Metrics()`)) as Record<string, { ABBytes: number; Last: number }[]>[];
  assert.deepEqual(Object.keys(byFlow!), [one]);
  assert.equal(byFlow![one]!.length, 2, "two update periods");
  assert.deepEqual(
    byFlow![one]!.map((m) => [m.ABBytes, m.Last]),
    [
      [old[0]!.LastUpdateMetric!.ABBytes, old[0]!.LastUpdateMetric!.Last],
      [5000, NOW - 60_000],
    ],
    "oldest first",
  );
  const tcp = "G.At(NOW, '2h').Flows().Has('Transport.Protocol', 'TCP').Metrics()";
  assert.deepEqual(await run(`${tcp}.Count()`), [60], "40 first periods, 20 second ones");
  const periodBytes = old.reduce((s, f) => s + f.LastUpdateMetric!.ABBytes, 0) + 20 * 5000;
  const [sum] = (await run(`${tcp}.Sum()`)) as { ABBytes: number; Start: number; Last: number }[];
  assert.equal(sum!.ABBytes, periodBytes, "every period added up");
  assert.equal(sum!.Last, NOW - 60_000);
  const [agg] = (await run(`${tcp}.Aggregates(600)`)) as { Aggregated: { ABBytes: number; Start: number; Last: number }[] }[];
  assert.ok(agg!.Aggregated.length >= 2, "an hour ago and a minute ago are in different 10-minute slices");
  assert.equal(
    agg!.Aggregated.reduce((s, m) => s + m.ABBytes, 0),
    periodBytes,
  );
  assert.ok(agg!.Aggregated.every((m) => m.Last - m.Start === 600_000));
  assert.deepEqual(await run("G.Flows().Has('Transport.Protocol', 'TCP').Metrics().Count()"), [20], "live: the periods of the last 10 minutes");
  await assert.rejects(run("G.Flows().Metrics().Values('ABBytes')"), /does not apply to flow metrics/);

  await assert.rejects(
    run("G.Flows().Has('Netwrk.A', '1.2.3.4')"),
    (e: GremlinError) => e.position === 14 && /unknown flow key 'Netwrk.A' at 14; did you mean Network.A/.test(e.message),
  );
  await assert.rejects(run("G.Flows().Has('Transport.B', 'https')"), /is a number/);
  await assert.rejects(run("G.Flows().Sum('Start')"), /Metric/);
  assert.deepEqual(await run("G.Flows().Has('UUID', 'udp-flow').In().Flows().Count()"), [0], "nothing was captured on the A end itself");
});

test("/api/flowmatrix: the matrix as JSON, skydive-flow-matrix's CSV and DOT, with filters and bad input refused", async (t) => {
  const { storage, insert } = await flowStorage(t, "gmatrix");
  const end = (host: string, netns: string, proc: string | null) => ({
    Node: { ID: `${host}-eth0`, Name: "eth0", Type: "veth", Host: host },
    Netns: netns,
    Process: proc ? { Pid: 10, Name: proc, Process: `/usr/bin/${proc}`, Cmdline: proc } : null,
    Container: "",
    K8sNamespace: "",
    K8sPod: "",
  });
  const flow = (i: number, client: string, server: string, port: number, clientProc: string, serverProc: string): FlowRecord => {
    const f = syntheticFlow(i, NOW - 60_000, client);
    return {
      ...f,
      UUID: `m-${i}`,
      Network: { Protocol: "IPV4", A: `198.18.1.${i}`, B: "198.18.2.1", ID: 0 },
      Transport: { Protocol: "TCP", A: 40000 + i, B: port, ID: 0 },
      LastUpdateMetric: { ...f.LastUpdateMetric!, ABBytes: 1000 * i, BABytes: 100 * i, Start: f.Start },
      Enrichment: { CaptureNode: null, A: end(client, "blue", clientProc), B: end(server, "red", serverProc), Server: "B" },
    } as FlowRecord;
  };
  const flows = [flow(1, "h1", "h2", 8080, "curl", "nginx"), flow(2, "h1", "h2", 8080, "curl", "nginx"), flow(3, "h3", "h2", 5432, "app", "postgres")];
  await insert(flows);

  const { buildApi } = await import("./server.js");
  const { apiConfig } = await import("./config.js");
  const { createRegistry } = await import("@skystream/common");
  const graph = new MemoryGraph();
  const app = await buildApi(apiConfig.parse({}), {
    source: { live: () => graph, at: async () => graph, during: async () => graph },
    storage,
    metrics: createRegistry("matrix-test"),
    log: pino({ level: "warn" }),
  });
  t.after(() => app.close());
  const get = (qs: string, headers: Record<string, string> = {}) =>
    app.inject({ method: "GET", url: `/api/flowmatrix?from=${NOW - 3_600_000}&to=${NOW}${qs}`, headers });

  const json = (await get("")).json();
  assert.deepEqual(
    json.map((r: { Port: number; ClientIP: string }) => `${r.Port} ${r.ClientIP}`),
    ["5432 198.18.1.3", "8080 198.18.1.2", "8080 198.18.1.1"],
    "biggest first; one row per client address",
  );
  const { FirstSeen: _f, LastSeen: _l, ClientToServerPackets: _p1, ServerToClientPackets: _p2, ...first } = json[2];
  assert.deepEqual(first, {
    Protocol: "TCP",
    Server: "h2",
    ServerIP: "198.18.2.1",
    Port: 8080,
    ServerProc: "/usr/bin/nginx",
    ServerProcName: "nginx",
    ServerNetns: "red",
    Client: "h1",
    ClientIP: "198.18.1.1",
    ClientProc: "/usr/bin/curl",
    ClientProcName: "curl",
    ClientNetns: "blue",
    ClientToServerBytes: 1000,
    ServerToClientBytes: 100,
    Flows: 1,
  });
  assert.deepEqual(
    (await get("&process=postgres")).json().map((r: { Client: string }) => r.Client),
    ["h3"],
  );
  const filtered = await get("&port=8080&host=h1&namespace=blue&protocol=TCP");
  assert.equal(filtered.json().length, 2, filtered.body);
  assert.equal((await get("&host=nope")).json().length, 0);
  const sockets = await get("&source=sockets");
  assert.equal(sockets.statusCode, 200, sockets.body);
  assert.deepEqual(sockets.json(), [], "no socket was reported in this graph-less store");

  const csv = await get("&format=csv");
  assert.match(csv.headers["content-type"] as string, /text\/csv/);
  assert.deepEqual(csv.body.trim().split("\n"), [
    "protocol,server,server_ip,port,server_proc,server_procname,client,client_ip,client_proc,client_procname",
    "TCP,h2,198.18.2.1,5432,/usr/bin/postgres,postgres,h3,198.18.1.3,/usr/bin/app,app",
    "TCP,h2,198.18.2.1,8080,/usr/bin/nginx,nginx,h1,198.18.1.2,/usr/bin/curl,curl",
    "TCP,h2,198.18.2.1,8080,/usr/bin/nginx,nginx,h1,198.18.1.1,/usr/bin/curl,curl",
  ]);
  assert.match((await get("&volumes=true", { accept: "text/csv" })).body, /,client_to_server_bytes,server_to_client_bytes,/);
  const dot = (await get("&format=dot")).body;
  assert.match(dot, /subgraph cluster_\d+ \{\n\s+label="h2"/);
  assert.match(dot, /"h1\/curl" -> "h2\/nginx" \[label="TCP : 198\.18\.2\.1:8080"\]/);

  assert.equal((await get("&port=99999")).statusCode, 400);
  assert.equal((await get("&format=xml")).statusCode, 400);
  assert.equal((await get("&bogus=1")).statusCode, 400);
  assert.equal((await app.inject({ method: "GET", url: "/api/flowmatrix?from=tomorrow" })).statusCode, 400);
  assert.equal((await app.inject({ method: "GET", url: `/api/flowmatrix?from=${NOW}&to=${NOW - 1}` })).statusCode, 400);
});
