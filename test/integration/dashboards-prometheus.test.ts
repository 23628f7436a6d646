// The pipeline dashboard's "From Prometheus" row against a real Prometheus scraping real Skystream processes:
// a pipeline (writing over HTTP to the ClickHouse stand-in) and an agent (synthetic flows, an sFlow
// collector), scraped every second. Poison records, garbage sFlow datagrams and a ClickHouse outage move the
// dead-letter, bad-input, insert-error and lag metrics; then every PromQL expression of every Prometheus
// panel, expanded as Grafana would, runs through /api/v1/query and must answer, and those the row exists for
// (lag, dead letters, insert latency, throughput, errors, processes) with data that matches what was done.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { parse as parseYaml } from "yaml";
import { AvroCodec } from "@skystream/schemas";
import { createBus, kafkaConfig, type OutMessage } from "@skystream/common";
import { freePort, testKafka } from "../harness/kafka.ts";
import { startClickhouseServer } from "../harness/clickhouse-server.ts";
import { startSkystream, waitFor } from "../harness/skystream-process.ts";
import { agentEnv, pipelineEnv, testNames } from "../harness/names.ts";
import { expandPromQL, rateIntervalMs, startPrometheus, type PromResponse, type PromSample } from "../harness/prometheus.ts";
import { poisonRecords } from "../harness/poison.ts";

const DIR = fileURLToPath(new URL("../../dashboards/", import.meta.url));
const SCRAPE_MS = 1000;
/**
 * The panel interval Grafana picks for a range of a few hours (range / max data points). With the 1 s
 * scrape interval $__rate_interval is 31 s: the test queries once Prometheus has scraped for longer than
 * that (so rates are not extrapolated from a partial window) and soon enough after the outage and the
 * second wave of bad input for both to be in the window.
 */
const INTERVAL_MS = 30_000;
/** When the outage starts, after Prometheus' first scrape: what comes before is the steady state. */
const OUTAGE_AFTER_MS = 15_000;
/** The lag that shows the outage: two seconds of the agent's 200 flows/s. */
const OUTAGE_LAG = 400;

interface Target {
  refId: string;
  datasource?: { type: string; uid: string };
  expr?: string;
  instant?: boolean;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Target[];
}
interface Dashboard {
  panels: Panel[];
  templating: { list: { name: string; type: string; query?: string; current?: { value: string } }[] };
}

const dashboard = JSON.parse(readFileSync(`${DIR}json/skystream-pipeline.json`, "utf8")) as Dashboard;
const provisioned = (
  parseYaml(readFileSync(`${DIR}provisioning/datasources/skystream.yaml`, "utf8")) as { datasources: { uid: string; type: string; url?: string }[] }
).datasources;

/** A panel's or target's data source with its ${variable} replaced by the variable's default. */
function resolve(ds: { type: string; uid: string }): { type: string; uid: string } {
  const m = /^\$\{(\w+)\}$|^\$(\w+)$/.exec(ds.uid);
  if (!m) return ds;
  const v = dashboard.templating.list.find((x) => x.name === (m[1] ?? m[2]));
  assert.ok(v, `data source variable ${ds.uid} is defined`);
  assert.equal(v.type, "datasource");
  assert.equal(v.query, ds.type, `${ds.uid} lists ${ds.type} data sources`);
  return { type: ds.type, uid: v.current!.value };
}

const promPanels = dashboard.panels.filter((p) => p.datasource && resolve(p.datasource).type === "prometheus");

test("pipeline dashboard: every data source is provisioned; the Prometheus panels sit in their row", () => {
  const prom = provisioned.find((d) => d.type === "prometheus");
  assert.deepEqual(prom && { uid: prom.uid, url: prom.url }, { uid: "skystream-prometheus", url: "http://prometheus:9090" });
  for (const p of dashboard.panels) {
    if (p.type === "row") continue;
    for (const ds of [p.datasource!, ...p.targets!.map((t) => t.datasource!)]) {
      const r = resolve(ds);
      assert.ok(
        provisioned.some((d) => d.uid === r.uid && d.type === r.type),
        `${p.title}: data source ${r.type}/${r.uid} is in the provisioning file`,
      );
    }
  }
  assert.equal(new Set(dashboard.panels.map((p) => p.id)).size, dashboard.panels.length, "unique panel ids");
  // Grafana's 24-column grid: inside it and no two panels on the same cell.
  for (const [i, a] of dashboard.panels.entries()) {
    const g = a.gridPos;
    assert.ok(g.x >= 0 && g.w > 0 && g.x + g.w <= 24 && g.h > 0, `${a.title}: gridPos ${JSON.stringify(g)}`);
    for (const b of dashboard.panels.slice(i + 1)) {
      const h = b.gridPos;
      assert.ok(g.x + g.w <= h.x || h.x + h.w <= g.x || g.y + g.h <= h.y || h.y + h.h <= g.y, `${a.title} overlaps ${b.title}`);
    }
  }
  const row = dashboard.panels.find((p) => p.type === "row" && p.title === "From Prometheus");
  assert.ok(row, 'a row "From Prometheus"');
  assert.ok(promPanels.length >= 8, `${promPanels.length} Prometheus panels`);
  for (const p of dashboard.panels) {
    const below: boolean = p.gridPos.y > row.gridPos.y;
    assert.equal(below, promPanels.includes(p), `${p.title}: ${below ? "below" : "above"} the row`);
  }
  for (const p of promPanels) {
    assert.ok(p.targets!.length > 0 && p.targets!.every((t) => t.expr), `${p.title}: PromQL`);
    assert.equal(new Set(p.targets!.map((t) => t.refId)).size, p.targets!.length, `${p.title}: unique refIds`);
  }
});

/** The samples of an instant vector answer, after checking it succeeded. */
function samples(res: PromResponse, what: string): PromSample[] {
  assert.equal(res.status, "success", `${what}: ${res.status === "error" ? `${res.errorType}: ${res.error}` : ""}`);
  assert.ok(res.status === "success" && res.data.resultType === "vector", `${what}: an instant vector`);
  return res.data.result as PromSample[];
}
const num = (s: PromSample) => Number(s.value[1]);
const sleepUntil = (time: number) => new Promise((r) => setTimeout(r, Math.max(0, time - Date.now())));

test("pipeline dashboard: every Prometheus panel's PromQL answers on a real Prometheus, with the pipeline's health", { timeout: 240_000 }, async (t) => {
  const t0 = Date.now();
  const { bootstrap } = await testKafka();
  const n = testNames("promdash");
  const bus = createBus("kafka", kafkaConfig.parse({ brokers: [bootstrap], topics: { partitions: 3 } }), pino({ level: "warn" }));
  t.after(() => bus.close());
  await bus.ensureTopics([
    { topic: n.flows, partitions: 3, replicationFactor: 1 },
    { topic: n.dlq, partitions: 1, replicationFactor: 1 },
  ]);

  const server = await startClickhouseServer();
  t.after(() => server.kill());
  const pipeline = await startSkystream(["pipeline"], { ...pipelineEnv(n, bootstrap), SKYSTREAM_CLICKHOUSE_URL: server.url });
  t.after(() => pipeline.kill("SIGKILL"));
  await pipeline.waitForOutput(/pipeline running/);
  const sflowPort = await freePort();
  const agent = await startSkystream(
    ["agent"],
    agentEnv(n, bootstrap, {
      SKYSTREAM_AGENT_FLOW_PROBES: JSON.stringify({ synthetic: { rate: 200, chunk: 50 }, sflow: { listen: `127.0.0.1:${sflowPort}` } }),
    }),
  );
  t.after(() => agent.kill("SIGKILL"));
  await agent.waitForOutput(/agent running/);

  const prom = await startPrometheus(
    [
      { job: "skystream-pipeline", targets: [new URL(pipeline.metricsUrl).host] },
      { job: "skystream-agent", targets: [new URL(agent.metricsUrl).host] },
    ],
    { scrapeIntervalMs: SCRAPE_MS },
  );
  t.after(() => prom.stop());
  const fail = (e: Error) => {
    throw new Error(
      `${e.message}\n--- pipeline:\n${pipeline.output().slice(-2500)}\n--- agent:\n${agent.output().slice(-1500)}\n--- prometheus:\n${prom.output().slice(-1500)}`,
    );
  };
  await prom.waitForTargets().catch(fail);
  const scraped = Date.now();
  const promSum = async (expr: string) => samples(await prom.query(expr), expr).reduce((s, x) => s + num(x), 0);
  const untilProm = (what: string, expr: string, ok: (v: number) => boolean, timeoutMs = 60_000) =>
    waitFor(what, async () => ok(await promSum(expr)), timeoutMs, 500).catch(fail);
  await untilProm("rows inserted, as scraped", "skystream_sink_rows_inserted_total", (v) => v > 0);

  // Bad input, twice: a reason's counter appears with its first records, which rate() cannot see; the
  // second wave, after Prometheus scraped the first, is what the rates show.
  const codec = new AvroCodec();
  const now = Date.now();
  const poison = poisonRecords(codec, now, n.id);
  const reasons = [...new Set(poison.map((p) => p.reason))].sort();
  const producer = bus.producer();
  await producer.connect();
  t.after(() => producer.disconnect());
  const sendPoison = () =>
    producer.send(
      n.flows,
      poison.map((p): OutMessage => ({ key: "poison", value: p.value })),
    );
  const udp = createSocket("udp4");
  t.after(() => udp.close());
  const garbage = [Buffer.from("not an sFlow datagram, version 1852797984"), Buffer.from([0, 0])];
  const sendGarbage = async () => {
    for (const d of garbage) await new Promise<void>((r, j) => udp.send(d, sflowPort, "127.0.0.1", (err) => (err ? j(err) : r())));
  };
  await sendPoison();
  await sendGarbage();
  await untilProm("the first dead letters, as scraped", "skystream_dlq_records_total", (v) => v === poison.length);
  await untilProm("the first garbage datagrams, as scraped", 'skystream_agent_packets_undecodable_total{probe="sflow"}', (v) => v === garbage.length);

  await sleepUntil(scraped + OUTAGE_AFTER_MS);

  // ClickHouse goes away: inserts fail and are retried, nothing is committed, the lag grows (the agent keeps
  // publishing); the second wave of poison records waits for ClickHouse too (dead letters go after the inserts).
  await server.kill();
  const outageAt = Date.now();
  await sendPoison();
  await sendGarbage();
  const lagExpr = `max(skystream_consumer_lag_records{topic="${n.flows}"})`;
  await untilProm("insert errors, as scraped", "skystream_sink_insert_errors_total", (v) => v > 0);
  // Between commits the lag is a round's worth of records (~100 at 200 flows/s); two seconds' worth is the outage.
  await untilProm("consumer lag, as scraped", lagExpr, (v) => v >= OUTAGE_LAG, 30_000);
  const duringOutage = Date.now();
  const produced = (await bus.lag(n.group, n.flows)).reduce((s, l) => s + Number(l.end), 0);
  await server.restart();
  await untilProm("every dead letter, as scraped", "skystream_dlq_records_total", (v) => v === 2 * poison.length);
  await untilProm("the second garbage datagrams, as scraped", 'skystream_agent_packets_undecodable_total{probe="sflow"}', (v) => v === 2 * garbage.length);

  // Every expression of every Prometheus panel, as Grafana sends it, at one instant.
  const window = rateIntervalMs({ intervalMs: INTERVAL_MS, scrapeIntervalMs: SCRAPE_MS });
  await sleepUntil(scraped + window + 2 * SCRAPE_MS);
  const at = Date.now();
  assert.ok(at - outageAt < window - 2 * SCRAPE_MS, `the outage (${at - outageAt} ms ago) is in the ${window} ms rate window`);
  const ctx = { rangeMs: at - t0, intervalMs: INTERVAL_MS, scrapeIntervalMs: SCRAPE_MS };
  const results = new Map<string, PromSample[]>();
  for (const p of promPanels)
    for (const target of p.targets!) {
      const key = `${p.title}/${target.refId}`;
      results.set(key, samples(await prom.query(expandPromQL(target.expr!, ctx), at), key));
    }
  const elapsed = (at - t0) / 1000;
  const producedNow = (await bus.lag(n.group, n.flows)).reduce((s, l) => s + Number(l.end), 0);
  t.diagnostic(
    `queried ${results.size} expressions of ${promPanels.length} panels at ${Math.round(elapsed)} s: ` +
      [...results]
        .map(([k, v]) => `${k} → ${v.length ? v.map((s) => `${Object.values(s.metric).join(",")}=${Number(num(s).toPrecision(3))}`).join(" ") : "(no data)"}`)
        .join("; "),
  );

  const SINK = "clickhouse_flows";
  const processes = (s: PromSample[]) => s.map((x) => x.metric.component).sort();
  /** What each panel must show; an expression not listed here may answer with no data. */
  const expected: Record<string, (s: PromSample[]) => void> = {
    "Kafka consumer lag/A": (s) => {
      const ours = s.find((x) => x.metric.topic === n.flows && x.metric.sink === SINK);
      assert.ok(ours && num(ours) >= 0 && num(ours) <= producedNow, `lag of ${n.flows} now: ${ours && num(ours)} of ${producedNow} records produced`);
    },
    "Dead-lettered records/s by reason/A": (s) => {
      assert.deepEqual(s.map((x) => x.metric.reason).sort(), reasons, "every reason, and only those");
      for (const x of s) {
        assert.equal(x.metric.stage, SINK);
        assert.ok(num(x) > 0 && num(x) < 1, `${x.metric.reason}: ${num(x)}/s, a record or two in ${window} ms`);
      }
    },
    "ClickHouse insert latency (p50, p99)/A": (s) => {
      const p50 = num(s.find((x) => x.metric.sink === SINK)!);
      assert.ok(p50 > 0 && p50 <= 30, `p50 ${p50} s`);
    },
    "ClickHouse insert latency (p50, p99)/B": (s) => {
      const p99 = num(s.find((x) => x.metric.sink === SINK)!);
      const p50 = num(results.get("ClickHouse insert latency (p50, p99)/A")!.find((x) => x.metric.sink === SINK)!);
      assert.ok(p99 >= p50 && p99 <= 30, `p99 ${p99} s (p50 ${p50} s)`);
    },
    "Throughput: flows published, records read, rows inserted/A": (s) => {
      const v = num(s.find((x) => x.metric.topic === n.flows)!);
      assert.ok(v > 150 && v < 250, `the agent publishes 200 flows/s: ${v}`);
    },
    "Throughput: flows published, records read, rows inserted/B": (s) => {
      const v = num(s.find((x) => x.metric.topic === n.flows && x.metric.sink === SINK)!);
      assert.ok(v > 150 && v < 300, `records read: ${v}/s`);
    },
    "Throughput: flows published, records read, rows inserted/C": (s) => {
      // The outage's backlog is inserted within the window too: about what was published, not less.
      const inserted = num(s.find((x) => x.metric.sink === SINK)!);
      const published = num(results.get("Throughput: flows published, records read, rows inserted/A")![0]!);
      assert.ok(inserted > published * 0.7 && inserted < published * 1.5, `inserted ${inserted}/s for ${published}/s published`);
    },
    "Errors/s: inserts, commits, publishing/A": (s) => assert.ok(num(s.find((x) => x.metric.sink === SINK)!) > 0, "the outage's insert errors"),
    "Bad input/s/A": (s) => assert.deepEqual(s.map((x) => x.metric.reason).sort(), ["bad_magic", "empty", "truncated", "unknown_schema_id", "wrong_record"]),
    "Bad input/s/B": (s) => assert.deepEqual(s.map((x) => x.metric.reason).sort(), ["bad_time", "missing_uuid"]),
    "Bad input/s/C": (s) => {
      assert.ok(s.length > 0 && s.every((x) => x.metric.probe === "sflow" && x.metric.reason!.startsWith("sflow_")), JSON.stringify(s));
      assert.ok(s.reduce((v, x) => v + num(x), 0) > 0, "the second wave of garbage datagrams");
    },
    "Records waiting/A": (s) => assert.ok(num(s.find((x) => x.metric.sink === SINK)!) >= 0),
    "Records waiting/B": (s) => assert.ok(s.length === 1 && num(s[0]!) >= 0),
    "Rows per insert/A": (s) => {
      const v = num(s.find((x) => x.metric.sink === SINK)!);
      assert.ok(v >= 1 && v <= 10_000, `${v} rows per insert (batch_size 10000)`);
    },
    "Process uptime/A": (s) => {
      assert.deepEqual(processes(s), ["agent", "pipeline"]);
      for (const x of s) assert.ok(num(x) > 0 && num(x) < elapsed + 5, `${x.metric.component} up for ${num(x)} s`);
    },
    "Process resident memory/A": (s) => {
      assert.deepEqual(processes(s), ["agent", "pipeline"]);
      for (const x of s) assert.ok(num(x) > 20 * 2 ** 20 && num(x) < 4 * 2 ** 30, `${x.metric.component} RSS ${num(x)}`);
    },
    "Process CPU/A": (s) => {
      assert.deepEqual(processes(s), ["agent", "pipeline"]);
      for (const x of s) assert.ok(num(x) > 0 && num(x) < 16, `${x.metric.component} CPU ${num(x)}`);
    },
    "Event loop lag (p99)/A": (s) => {
      assert.deepEqual(processes(s), ["agent", "pipeline"]);
      for (const x of s) assert.ok(num(x) >= 0 && num(x) < 5, `${x.metric.component} event loop lag ${num(x)} s`);
    },
  };
  /** Expressions with nothing to show here: no data (a labelled counter appears with its first increment) or zero. */
  const quiet: Record<string, string> = {
    "Errors/s: inserts, commits, publishing/B": "no offset commit failed",
    "Errors/s: inserts, commits, publishing/C": "no produce request failed",
    "Bad input/s/D": "no control message was unreadable",
  };
  for (const key of [...Object.keys(expected), ...Object.keys(quiet)]) assert.ok(results.has(key), `the dashboard has ${key}`);
  for (const key of results.keys()) assert.ok(key in expected || key in quiet, `${key}: the test says what it must show`);
  for (const [key, why] of Object.entries(quiet))
    assert.ok(
      results.get(key)!.every((x) => num(x) === 0),
      `${key}: ${why}`,
    );
  for (const [key, check] of Object.entries(expected)) {
    const s = results.get(key)!;
    assert.ok(s.length > 0, `${key}: no data`);
    for (const x of s) assert.ok(Number.isFinite(num(x)), `${key}: ${JSON.stringify(x)}`);
    check(s);
  }

  // The lag panel during the outage: records waiting in Kafka, no more than were produced.
  const lagPanel = promPanels.find((p) => p.title === "Kafka consumer lag")!;
  const during = samples(await prom.query(expandPromQL(lagPanel.targets![0]!.expr!, ctx), duringOutage), "lag during the outage").find(
    (x) => x.metric.topic === n.flows,
  );
  assert.ok(during && num(during) >= OUTAGE_LAG && num(during) <= produced, `lag during the outage: ${during && num(during)} of ${produced} records produced`);
  t.diagnostic(`lag during the outage ${during && num(during)} records; ${Math.round((Date.now() - t0) / 1000)} s in all`);
});
