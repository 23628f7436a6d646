// The provisioned Grafana dashboards: valid JSON referencing only the provisioned ClickHouse data source
// and Grafana's built-in panels, and every query, with Grafana's variables and the ClickHouse data
// source's macros expanded, runs on the real schema in the embedded engine and answers what its panel
// shows: a lab's flows, flow matrix and topology (the Node Graph frames with no dangling edge).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import type { FlowRecord, TopologyDelta } from "@skystream/schemas";
import { syntheticFlow } from "@skystream/schemas/testing/flows";
import { flowStorage } from "@skystream/pipeline/storage/clickhouse/testing";
import { TopologyTables } from "@skystream/pipeline/storage/clickhouse/index";
import { Materializer } from "@skystream/pipeline/sinks/clickhouse-topology/materializer";
import { buildModel, flowDiagram, fromNodeGraphFrames, matrixRows } from "@skystream/views";
import { expandQuery, type QueryContext } from "../harness/grafana.ts";

/** Rows as a frame's columns (what Grafana hands a panel). */
const columns = (rows: Record<string, unknown>[]) => {
  const out: Record<string, unknown[]> = {};
  rows.forEach((r, i) => Object.entries(r).forEach(([k, v]) => ((out[k] ??= Array(rows.length))[i] = v)));
  return out;
};

const DIR = fileURLToPath(new URL("../../dashboards/", import.meta.url));
/** Panel types Grafana ships, and ours (dashboards/src/plugin.json). */
const PLUGIN = (JSON.parse(readFileSync(fileURLToPath(new URL("../../dashboards/src/plugin.json", import.meta.url)), "utf8")) as { id: string }).id;
const PANELS = new Set(["stat", "timeseries", "table", "bargauge", "nodeGraph", "barchart", "piechart", "gauge", "text", "heatmap", PLUGIN]);
/** Grafana's Dashboard data source: a panel showing another panel's results. */
const DASHBOARD_DS = { type: "datasource", uid: "-- Dashboard --" };

interface Target {
  refId: string;
  panelId?: number;
  datasource: { type: string; uid: string };
  format: number;
  rawSql: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource: { type: string; uid: string };
  targets: Target[];
  options?: { view?: string };
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query?: string; current?: { value: string } }[] };
}

/** The panels on the ClickHouse data source (the pipeline dashboard's Prometheus row: dashboards-prometheus.test.ts). */
const clickhousePanels = (d: Dashboard) =>
  d.panels.filter((p) => p.type !== "row" && p.datasource.type !== "prometheus" && p.datasource.uid !== DASHBOARD_DS.uid);

const dashboards = readdirSync(`${DIR}json`)
  .filter((f) => f.endsWith(".json"))
  .map((f) => ({ file: f, d: JSON.parse(readFileSync(`${DIR}json/${f}`, "utf8")) as Dashboard }));

test("dashboards: valid, provisioned data source only, built-in panels, unique ids, Node Graph refIds", () => {
  const provisioned = parseYaml(readFileSync(`${DIR}provisioning/datasources/skystream.yaml`, "utf8")) as {
    datasources: { uid: string; type: string }[];
  };
  const ds = provisioned.datasources[0]!;
  assert.equal(ds.type, "grafana-clickhouse-datasource");
  const providers = parseYaml(readFileSync(`${DIR}provisioning/dashboards/skystream.yaml`, "utf8")) as { providers: { type: string }[] };
  assert.equal(providers.providers[0]!.type, "file");
  assert.ok(dashboards.length >= 3);
  assert.equal(new Set(dashboards.map((x) => x.d.uid)).size, dashboards.length, "unique dashboard uids");
  for (const { file, d } of dashboards) {
    const dsVar = d.templating.list.find((v) => v.name === "datasource")!;
    assert.equal(dsVar.type, "datasource", file);
    assert.equal(dsVar.query, ds.type, `${file}: the variable lists ClickHouse data sources`);
    assert.equal(dsVar.current?.value, ds.uid, `${file}: defaults to the provisioned one`);
    assert.equal(new Set(d.panels.map((p) => p.id)).size, d.panels.length, `${file}: unique panel ids`);
    for (const p of d.panels.filter((x) => x.datasource?.uid === DASHBOARD_DS.uid)) {
      assert.ok(PANELS.has(p.type), `${file}/${p.title}: panel type ${p.type}`);
      for (const x of [p.datasource, ...p.targets.map((t) => t.datasource)]) assert.deepEqual(x, DASHBOARD_DS, `${file}/${p.title}`);
      const source = d.panels.find((x) => x.id === p.targets[0]!.panelId);
      assert.ok(source && clickhousePanels(d).includes(source), `${file}/${p.title}: shows a ClickHouse panel's results`);
      if (p.type === "nodeGraph" || p.options?.view === "topology") assert.deepEqual(source.targets.map((t) => t.refId).sort(), ["edges", "nodes"]);
    }
    for (const p of clickhousePanels(d)) {
      assert.ok(PANELS.has(p.type), `${file}/${p.title}: panel type ${p.type}`);
      for (const x of [p.datasource, ...p.targets.map((t) => t.datasource)]) assert.deepEqual(x, { type: ds.type, uid: "${datasource}" }, `${file}/${p.title}`);
      assert.ok(p.targets.length > 0 && p.targets.every((t) => t.rawSql.length > 0), `${file}/${p.title}: SQL`);
      assert.equal(new Set(p.targets.map((t) => t.refId)).size, p.targets.length, `${file}/${p.title}: unique refIds`);
      if (p.type === "nodeGraph" || (p.type === PLUGIN && p.options?.view === "topology"))
        assert.deepEqual(p.targets.map((t) => t.refId).sort(), ["edges", "nodes"], "frames named as the Node Graph wants");
      if (p.type === "timeseries")
        assert.ok(
          p.targets.every((t) => t.format === 0 && /\bAS time\b/.test(t.rawSql)),
          `${file}/${p.title}: time series with a time column`,
        );
    }
  }
});

test("dashboards: every query runs on the real schema and shows the lab", { timeout: 120_000 }, async (t) => {
  const { storage, insert } = await flowStorage(t, "skystream");
  const now = Date.now();

  // A lab's topology: a host, two namespaces, an interface each (one down, one that dropped packets), a veth pair.
  const m = new Materializer();
  let seq = 0;
  const node = (ID: string, Type: string, Name: string, md: Partial<NonNullable<TopologyDelta["Node"]>["Metadata"]> = {}, time = now - 600_000) => ({
    Op: "ADD" as const,
    Origin: "agent.h1",
    Host: "h1",
    Time: time,
    Sequence: ++seq,
    SnapshotID: "",
    Node: {
      ID,
      Host: "h1",
      Origin: "agent.h1",
      Type,
      Name,
      Metadata: { TID: ID, MAC: "", MTU: 1500, State: "UP", IfIndex: 0, Driver: "", IPV4: [], IPV6: [], Extra: "{}", ...md },
      CreatedAt: time,
      UpdatedAt: time,
      DeletedAt: null,
      Revision: seq,
    },
    Edge: null,
  });
  const edge = (ID: string, Parent: string, Child: string, RelationType: string) => ({
    Op: "ADD" as const,
    Origin: "agent.h1",
    Host: "h1",
    Time: now - 600_000,
    Sequence: ++seq,
    SnapshotID: "",
    Node: null,
    Edge: {
      ID,
      Host: "h1",
      Origin: "agent.h1",
      Parent,
      Child,
      RelationType,
      Extra: "{}",
      CreatedAt: now - 600_000,
      UpdatedAt: now - 600_000,
      DeletedAt: null,
      Revision: 1,
    },
  });
  const deltas: TopologyDelta[] = [
    node("h1", "host", "h1"),
    node("ns-a", "netns", "a"),
    node("ns-b", "netns", "b"),
    node("va", "veth", "va", { IPV4: ["198.18.1.1/24"] }),
    node("vb", "veth", "vb", { IPV4: ["198.18.1.2/24"], State: "DOWN" }),
    edge("e1", "h1", "ns-a", "ownership"),
    edge("e2", "h1", "ns-b", "ownership"),
    edge("e3", "ns-a", "va", "ownership"),
    edge("e4", "ns-b", "vb", "ownership"),
    edge("e5", "va", "vb", "layer2"),
    // va's counters a few minutes later: 7 packets dropped in that period.
    {
      ...node(
        "va",
        "veth",
        "va",
        { IPV4: ["198.18.1.1/24"], Extra: JSON.stringify({ LastUpdateMetric: { RxDropped: 7, TxDropped: 0, RxErrors: 0, TxErrors: 2 } }) },
        now - 300_000,
      ),
      Op: "UPDATE",
    },
  ];
  deltas.forEach((d, i) => m.apply(d, "topology", 0, BigInt(i)));
  await new TopologyTables(storage).write(m.drain());

  // Flows between the two: HTTP to nginx on 8080 from curl, with RTT, captured on vb, enriched.
  const end = (nodeId: string, netns: string, proc: string) => ({
    Node: { ID: nodeId, Name: nodeId, Type: "veth", Host: "h1" },
    Netns: netns,
    Process: { Pid: 10, Name: proc, Process: `/usr/bin/${proc}`, Cmdline: proc },
    Container: "",
    K8sNamespace: "",
    K8sPod: "",
  });
  const flows: FlowRecord[] = Array.from({ length: 30 }, (_, i) => {
    const f = syntheticFlow(i, now - 20 * 60_000 + i * 30_000, "h1");
    return {
      ...f,
      UUID: `dash-${i}`,
      Application: "HTTP",
      NodeTID: "vb",
      Network: { Protocol: "IPV4", A: "198.18.1.1", B: "198.18.1.2", ID: 0 },
      Transport: { Protocol: "TCP", A: 40000 + i, B: 8080, ID: 0 },
      Metric: { ...f.Metric!, RTT: 250_000 },
      Enrichment: { CaptureNode: { ID: "vb", Name: "vb", Type: "veth", Host: "h1" }, A: end("va", "a", "curl"), B: end("vb", "b", "nginx"), Server: "B" },
    } as FlowRecord;
  });
  await insert(flows);

  const run = async (sql: string, ctx: QueryContext) =>
    (
      await storage.client.query({ query: expandQuery(sql, ctx), format: "JSONEachRow", clickhouse_settings: { output_format_json_quote_64bit_integers: 0 } })
    ).json<Record<string, unknown>>();
  const range = { from: now - 3_600_000, to: now, intervalMs: 60_000 };
  const results = new Map<string, Record<string, unknown>[]>();
  for (const vars of [{ host: { values: ["h1"] } }, { host: { values: ["h1"], all: true } }])
    for (const { file, d } of dashboards)
      for (const p of clickhousePanels(d))
        for (const target of p.targets) {
          const rows = await run(target.rawSql, { ...range, vars }).catch((err: Error) => {
            throw new Error(`${file} / ${p.title} / ${target.refId}: ${err.message}`);
          });
          results.set(`${p.title}/${target.refId}`, rows);
          if (p.type === "timeseries")
            assert.ok(
              rows.every((r) => r.time !== undefined),
              `${p.title}: a time column`,
            );
        }
  const rows = (key: string) => results.get(key) ?? assert.fail(`no panel ${key}`);

  assert.equal(Number(rows("Flows/A")[0]!.flows), 30);
  assert.deepEqual(
    rows("Top talkers/A").map((r) => [r.a, r.b, r.protocol]),
    [["198.18.1.1", "198.18.1.2", "TCP"]],
  );
  const pair = rows("Flow matrix: who talks to whom/A")[0]!;
  assert.deepEqual([pair.ServerIP, pair.Port, pair.ServerProcName, pair.ClientIP, pair.ClientProcName], ["198.18.1.2", 8080, "nginx", "198.18.1.1", "curl"]);
  // As the Skystream panel reads the table (the flow-matrix view, through the Dashboard data source).
  const diagram = flowDiagram(matrixRows(columns(rows("Flow matrix: who talks to whom/A"))), "bytes");
  assert.deepEqual(
    diagram.links.map((l) => [l.source, l.target]),
    [["c:curl @ h1 198.18.1.1", "s:nginx @ 198.18.1.2:8080/tcp"]],
  );
  assert.equal(diagram.total, Number(pair.ClientToServerBytes) + Number(pair.ServerToClientBytes));
  assert.equal(rows("Top server ports/A")[0]!.port, "TCP/8080");
  assert.ok(rows("Traffic by application/A").some((r) => r.application === "HTTP"));
  assert.ok(rows("Traffic by capture interface/A").some((r) => r.interface === "h1:vb"));
  assert.ok(rows("Traffic per server process/A").some((r) => r.process === "h1/nginx:8080"));
  assert.equal(rows("Round-trip times by server/A")[0]!.rtt_p50_ms, 0.25);

  const nodes = rows("Topology at the end of the range/nodes");
  const edges = rows("Topology at the end of the range/edges");
  assert.deepEqual(nodes.map((n) => n.title).sort(), ["a", "b", "h1", "va", "vb"]);
  assert.equal(nodes.find((n) => n.title === "vb")!.color, "red", "down in red");
  assert.equal(edges.length, 5);
  const ids = new Set(nodes.map((n) => n.id));
  assert.ok(
    edges.every((e) => ids.has(e.source) && ids.has(e.target)),
    "no dangling edge",
  );
  // The traffic captured on vb over the range, on the layer2 link va–vb; none on ownership edges.
  const bytes = flows.reduce((sum, f) => sum + Number(f.LastUpdateMetric!.ABBytes) + Number(f.LastUpdateMetric!.BABytes), 0);
  const layer2 = edges.find((e) => e.mainstat === "layer2")!;
  assert.ok(Math.abs(Number(layer2.detail__bps) - (bytes * 8) / 3600) < 1, `link traffic ${layer2.detail__bps}`);
  assert.match(String(layer2.secondarystat), /b\/s$/);
  assert.ok(edges.filter((e) => e.mainstat === "ownership").every((e) => Number(e.detail__bps) === 0));
  // As the Skystream panel reads the frames: the nested model, the link with its traffic.
  const model = buildModel(fromNodeGraphFrames(columns(nodes), columns(edges)));
  assert.deepEqual(
    model.roots.map((r) => model.nodes.get(r)!.name),
    ["h1"],
  );
  assert.equal(model.links.length, 1);
  assert.ok(model.links[0]!.bps! > 0);
  assert.equal(model.nodes.get("vb")!.state, "down");
  assert.deepEqual(
    rows("Interfaces down/A").map((r) => r.Name),
    ["vb"],
  );
  assert.ok(rows("Interface drops/A").some((r) => r.interface === "h1:va" && Number(r.drops) === 7));
  assert.ok(rows("Interface errors/A").some((r) => r.interface === "h1:va" && Number(r.errors) === 2));
  assert.ok(rows("Changes in the range/A").length > 0);
  assert.ok(Number(rows("Flow rows inserted/A").reduce((s, r) => s + Number(r.rows_per_second), 0)) > 0);
  assert.equal(Number(rows("Agents alive/A")[0]!.alive), 1);

  // The topology at an earlier instant: before the interfaces existed there was nothing.
  const before = await run(dashboards.find((x) => x.d.uid === "skystream-topology")!.d.panels[0]!.targets[0]!.rawSql, {
    from: now - 7_200_000,
    to: now - 3_600_000,
    intervalMs: 60_000,
    vars: { host: { values: ["h1"], all: true } },
  });
  assert.equal(before.length, 0, "time travel with the range's end");
});
