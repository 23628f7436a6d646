// The query API on the real stack: a real agent watches a netns lab and publishes to a real Kafka broker;
// `skystream pipeline` materializes the topology and enriches flows into ClickHouse (the HTTP stand-in
// over the real engine); `skystream api` follows the same topics and reads the same ClickHouse. Through
// the API: Skydive-style Gremlin queries on the lab, time travel answered from ClickHouse history, a
// capture created by REST whose flows Flows() then finds, WebSocket events and an alert's webhook when
// a link goes down, and `skystream client` against it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { WebSocket } from "ws";
import { testKafka, freePort } from "../harness/kafka.ts";
import { startClickhouseServer } from "../harness/clickhouse-server.ts";
import { NetnsLab, ip } from "../harness/netns-lab.ts";
import { startSkystream, waitFor } from "../harness/skystream-process.ts";
import { agentEnv, pipelineEnv, testNames } from "../harness/names.ts";

const BIN = fileURLToPath(new URL("../../pipeline/bin/skystream.js", import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Node {
  ID: string;
  Origin: string;
  Metadata: Record<string, unknown> & { Name?: string; Type?: string; MTU?: number; State?: string };
}

test(
  "query API on the real stack: Gremlin and time travel on a lab, REST capture → Flows(), WS events and an alert on link down, CLI",
  { timeout: 300_000 },
  async (t) => {
    const { bootstrap } = await testKafka();
    const clickhouse = await startClickhouseServer();
    t.after(() => clickhouse.kill());
    const n = testNames("apistack");
    const control = `${n.id}.control`;

    const lab = new NetnsLab();
    t.after(() => lab.destroy());
    const { a, b, va, vb } = lab.pair("198.18.70");

    const shared = { SKYSTREAM_CLICKHOUSE_URL: clickhouse.url, SKYSTREAM_AGENT_TOPOLOGY_TOPIC: n.topology, SKYSTREAM_AGENT_CAPTURES_TOPIC: control };
    const pipeline = await startSkystream(["pipeline"], { ...pipelineEnv(n, bootstrap, {}, { flush_interval: "200ms" }), ...shared });
    t.after(() => pipeline.kill("SIGKILL"));
    const agent = await startSkystream(
      ["agent"],
      agentEnv(n, bootstrap, {
        ...shared,
        SKYSTREAM_AGENT_FLOW_TABLE_UPDATE: "1s",
        SKYSTREAM_AGENT_TOPOLOGY_PROBES: JSON.stringify({ host: {}, netlink: {}, socketinfo: { interval: "200ms" } }),
      }),
    );
    t.after(() => agent.kill("SIGKILL"));
    const port = await freePort();
    // A 2 s window: the API keeps only that much history in memory, so older times come from ClickHouse.
    const api = await startSkystream(["api"], {
      ...pipelineEnv(n, bootstrap, {}, {}),
      ...shared,
      SKYSTREAM_API_LISTEN: `127.0.0.1:${port}`,
      SKYSTREAM_API_WINDOW: "2s",
    });
    t.after(() => api.kill("SIGKILL"));
    await Promise.all([pipeline.waitForOutput(/pipeline running/), api.waitForOutput(/query API listening/)]);
    const base = `http://127.0.0.1:${port}`;
    const failWith = (e: Error) => {
      throw new Error(
        `${e.message}\n--- api\n${api.output().slice(-2500)}\n--- agent\n${agent.output().slice(-1500)}\n--- pipeline\n${pipeline.output().slice(-1500)}`,
      );
    };

    const gremlin = async <T = Node[]>(q: string): Promise<T> => {
      const r = await fetch(`${base}/api/topology`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ GremlinQuery: q }),
      });
      const body = await r.text();
      assert.equal(r.status, 200, `${q}: ${body}`);
      return JSON.parse(body) as T;
    };
    /** `skystream client --output json ARGS` against the API: its parsed output. */
    const client = async <T = unknown>(...args: string[]): Promise<T> => {
      const cli = spawn(process.execPath, [BIN, "client", "--api", base, "--output", "json", ...args], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      cli.stdout.on("data", (d: Buffer) => (out += d.toString()));
      cli.stderr.on("data", (d: Buffer) => (err += d.toString()));
      const [code] = (await once(cli, "exit")) as [number];
      assert.equal(code, 0, `client ${args.join(" ")}: ${err}${out}`);
      return JSON.parse(out) as T;
    };
    const post = async (path: string, body: unknown) => {
      const r = await fetch(`${base}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      return { status: r.status, body: (await r.json()) as Record<string, unknown> };
    };

    const pair = `G.V().Has('Name', '${va}').BothE('RelationType', 'layer2').BothV().Dedup().Values('Name')`;
    await waitFor("the lab's veth pair in the API's graph", async () => ((await gremlin<string[]>(pair)).length === 2 ? true : undefined), 60_000).catch(
      failWith,
    );

    // Skydive-style queries on the lab, with their expected results.
    const nsA = await gremlin(`G.V().Has('Type', 'netns', 'Name', '${a}')`);
    assert.equal(nsA.length, 1, "namespace a");
    assert.deepEqual(
      (await gremlin<string[]>(`G.V().Has('Type', 'netns', 'Name', '${a}').Out().Has('Type', 'veth').Values('Name')`)).sort(),
      [va],
      "a owns va",
    );
    assert.deepEqual((await gremlin<string[]>(pair)).sort(), [va, vb].sort(), "va's layer2 peer");
    assert.deepEqual(await gremlin<string[]>(`G.V().Has('Name', '${va}').Both().Has('Type', 'veth').Values('Name')`), [vb], "Both() then Has");
    assert.deepEqual(await gremlin<number[]>(`G.V().Has('Type', 'netns', 'Name', Within('${a}', '${b}')).Count()`), [2], "Within on the two namespaces");
    assert.deepEqual(
      await gremlin<string[]>(`G.V().Has('Type', 'veth', 'IPV4', IPV4Range('198.18.70.0/24'), 'Name', Regex('${lab.p}.*')).Values('Name')`).then((x) =>
        x.sort(),
      ),
      [va, vb].sort(),
      "IPV4Range over the addresses, Regex on the names",
    );
    const path = await gremlin<Node[][]>(`G.V().Has('Type', 'netns', 'Name', '${a}').ShortestPathTo(Metadata('Type', 'netns', 'Name', '${b}'))`);
    assert.deepEqual(
      path[0]!.map((x) => x.Metadata.Name),
      [a, n.id, b],
      "shortest path between the namespaces: through the host that owns both",
    );
    const l2 = await gremlin<Node[][]>(`G.V().Has('Name', '${va}').ShortestPathTo(Metadata('Name', '${vb}'), Metadata('RelationType', 'layer2'))`);
    assert.deepEqual(
      l2[0]!.map((x) => x.Metadata.Name),
      [va, vb],
      "over layer2 edges only",
    );
    assert.equal((await gremlin<{ Nodes: Node[] }[]>(`G.V().Has('Type', 'netns', 'Name', '${b}').SubGraph()`))[0]!.Nodes.length, 1, "SubGraph of one node");

    // Time travel: the MTU before the change, read from ClickHouse (older than the API's 2 s window).
    const before = Date.now();
    await sleep(1500);
    ip("-n", a, "link", "set", va, "mtu", "1400");
    await waitFor(
      "the new MTU live",
      async () => ((await gremlin<number[]>(`G.V().Has('Name', '${va}').Values('MTU')`))[0] === 1400 ? true : undefined),
      20_000,
    ).catch(failWith);
    await sleep(2500);
    assert.deepEqual(await gremlin<number[]>(`G.At(${before}).V().Has('Name', '${va}').Values('MTU')`), [1500], "At(before the change)");
    assert.deepEqual(await gremlin<number[]>(`G.At('-0s').V().Has('Name', '${va}').Values('MTU')`), [1400], "At(now)");

    // A capture by REST: the agent captures on vb; its flows reach ClickHouse enriched; Flows() finds them.
    const capture = await post("/api/capture", { GremlinQuery: `G.V().Has('Name', '${vb}')`, Name: "lab" });
    assert.equal(capture.status, 201, JSON.stringify(capture.body));
    // A small HTTP server in b and a client in a asking it five times a second.
    const server = lab.python(b, "import http.server as h\nh.ThreadingHTTPServer(('198.18.70.2', 8080), h.SimpleHTTPRequestHandler).serve_forever()");
    const clientLoop = lab.python(
      a,
      "import time, urllib.request as u\nwhile True:\n  try: u.urlopen('http://198.18.70.2:8080/', timeout=2).read()\n  except Exception: pass\n  time.sleep(0.2)",
    );
    t.after(() => [server, clientLoop].forEach((p) => p.kill("SIGKILL")));
    const flowsQuery = `G.V().Has('Name', '${vb}').Flows().HasEither('Network.A', '198.18.70.1', 'Network.B', '198.18.70.1').Has('Transport.Protocol', 'TCP', 'Transport.B', 8080)`;
    const flows = await waitFor(
      "the captured flows through Flows()",
      async () => {
        const f = await gremlin<{ CaptureID: string; NodeTID: string; Metric: { ABPackets: number; BAPackets: number } }[]>(flowsQuery);
        return f.length > 0 ? f : undefined;
      },
      90_000,
    ).catch(async (e: Error) =>
      failWith(
        new Error(
          `${e.message}; rows inserted: ${await pipeline.metric("skystream_sink_rows_inserted_total", { sink: "clickhouse_flows" })}; ` +
            `some flows: ${JSON.stringify(await gremlin(`G.Flows().Limit(2)`).catch(String)).slice(0, 1500)}`,
        ),
      ),
    );
    clientLoop.kill("SIGKILL");
    assert.equal(flows[0]!.CaptureID, capture.body.UUID, "the flow carries the capture's id");
    assert.ok(flows[0]!.Metric.ABPackets > 0 && flows[0]!.Metric.BAPackets > 0, "both directions");
    const vbNode = (await gremlin(`G.V().Has('Name', '${vb}')`))[0]!;
    assert.equal(flows[0]!.NodeTID, vbNode.Metadata.TID, "captured on vb");
    assert.deepEqual(await gremlin<number[]>(`G.Flows().Has('CaptureID', '${String(capture.body.UUID)}').Count()`).then((c) => c[0]! > 0), true);
    const [sum] = await gremlin<{ ABPackets: number; BAPackets: number }[]>(`${flowsQuery}.Metrics().Sum()`);
    assert.ok(sum!.ABPackets > 0 && sum!.BAPackets > 0, `Metrics().Sum() of the captured flows: ${JSON.stringify(sum)}`);
    const procs = await gremlin<string[]>(`${flowsQuery}.Sockets().Values('Name')`);
    assert.ok(procs.includes("python3"), `Sockets() of the flows finds the server's process: ${JSON.stringify(procs)}`);
    const listed = (await (await fetch(`${base}/api/capture`)).json()) as Record<string, { Count?: number }>;
    assert.ok(listed[String(capture.body.UUID)], "the capture is listed");
    // The flow matrix names the pair, down to the server's process.
    const matrix = await client<{ ServerIP: string; Port: number; ClientIP: string; ServerProcName: string; Protocol: string }[]>(
      "flowmatrix",
      "--from",
      "-10m",
    );
    const row = matrix.find((r) => r.ServerIP === "198.18.70.2" && r.Port === 8080);
    assert.ok(row, `the lab's pair in the flow matrix: ${JSON.stringify(matrix)}`);
    assert.equal(row.ClientIP, "198.18.70.1");
    assert.equal(row.ServerProcName, "python3");

    // Link down: a WebSocket subscriber filtered on va sees it, and an alert's webhook fires.
    const hooks: { ReasonData: unknown }[] = [];
    const hookServer = createServer((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        hooks.push(JSON.parse(body) as { ReasonData: unknown });
        res.end("ok");
      });
    }).listen(0, "127.0.0.1");
    await once(hookServer, "listening");
    t.after(() => hookServer.close());
    // Created with the CLI, as an operator would.
    const alert = await client<{ UUID: string; Trigger: string }>(
      "alert",
      "create",
      "--name",
      "va down",
      "--expression",
      `G.V().Has('Name', '${va}', 'State', 'DOWN').Values('Name')`,
      "--action",
      `http://127.0.0.1:${(hookServer.address() as { port: number }).port}/hook`,
    );
    assert.equal(alert.Trigger, "graph");
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/subscriber?x-gremlin-filter=${encodeURIComponent(`G.V().Has('Name', '${va}')`)}`);
    const events: { Type: string; Obj: Node }[] = [];
    ws.on("message", (d) => events.push(JSON.parse(String(d)) as (typeof events)[number]));
    await once(ws, "open");
    t.after(() => ws.close());
    await waitFor("the SyncReply", async () => (events.some((e) => e.Type === "SyncReply") ? true : undefined), 10_000);
    const downAt = Date.now();
    ip("-n", a, "link", "set", va, "down");
    const update = await waitFor(
      "NodeUpdated with State DOWN",
      async () => events.find((e) => e.Type === "NodeUpdated" && e.Obj.Metadata.State === "DOWN"),
      20_000,
    ).catch(failWith);
    assert.equal(update.Obj.Metadata.Name, va);
    await waitFor("the alert's webhook", async () => (hooks.length > 0 ? true : undefined), 20_000).catch(failWith);
    assert.deepEqual(hooks[0]!.ReasonData, [va]);
    const fired = Date.now() - downAt;
    const firings = await waitFor(
      "the stored firing",
      async () => {
        const r = (await (await fetch(`${base}/api/alert/${alert.UUID}/firings`)).json()) as unknown[];
        return r.length > 0 ? r : undefined;
      },
      10_000,
    );
    assert.equal(firings.length, 1);
    t.diagnostic(`link down → webhook in ${fired} ms`);

    assert.deepEqual(await client("topology", "query", "--gremlin", `G.V().Has('Name', '${va}').Values('State')`), ["DOWN"], "the CLI sees it too");
    assert.equal((await client<unknown[]>("alert", "firings", alert.UUID)).length, 1);

    // Topology resources on the real stack: a node of the API linked to the agent's veth, and an update rule
    // whose metadata the agent adds to its own node.
    const tor = await post("/api/node", { ID: "tor-1", Metadata: { Name: "tor-1", Type: "switch" } });
    assert.equal(tor.status, 201, JSON.stringify(tor.body));
    const cable = await post("/api/edge", { Parent: "tor-1", Child: vbNode.ID, Metadata: { RelationType: "layer2" } });
    assert.equal(cable.status, 201, JSON.stringify(cable.body));
    const rack = await post("/api/noderule", { Action: "update", Query: `G.V().Has('Name', '${vb}')`, Metadata: { Rack: "r12" } });
    assert.equal(rack.status, 201, JSON.stringify(rack.body));
    await waitFor(
      "tor-1 linked to vb",
      async () => ((await gremlin<string[]>("G.V('tor-1').Both().Values('Name')"))[0] === vb ? true : undefined),
      20_000,
    ).catch(failWith);
    await waitFor(
      "the agent's vb carrying the rule's Rack",
      async () => ((await gremlin<string[]>(`G.V().Has('Name', '${vb}').Values('Rack')`))[0] === "r12" ? true : undefined),
      20_000,
    ).catch(failWith);
    const vbNow = (await gremlin(`G.V().Has('Name', '${vb}')`))[0]!;
    assert.equal(vbNow.Origin, `agent.${n.id}`, "still the agent's node: it added the metadata itself");
    assert.equal(vbNow.Metadata.TID, vbNode.Metadata.TID);

    const status = await client<{ Agents: { Origin: string; Alive: boolean }[] }>("status");
    assert.ok(
      status.Agents.some((x) => x.Origin === `agent.${n.id}` && x.Alive),
      `the agent in /api/status: ${JSON.stringify(status).slice(0, 500)}`,
    );
  },
);
