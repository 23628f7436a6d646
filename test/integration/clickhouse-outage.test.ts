// Outages around a pipeline writing to ClickHouse over HTTP (the stand-in server over the real engine):
// ClickHouse SIGKILLed for 30 seconds mid-stream (consumption pauses, memory stays bounded, every insert is
// retried), and the Kafka broker restarted mid-stream. Each time: exactly one row per flow, sums exact.
import { before, after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { createClient, ClickHouseLogLevel } from "@clickhouse/client";
import { createBus, kafkaConfig, totalLag, type Bus } from "@skystream/common";
import { startKafka, type KafkaBroker } from "../harness/kafka.ts";
import { startClickhouseServer } from "../harness/clickhouse-server.ts";
import { startSkystream, waitFor, type SkystreamProcess } from "../harness/skystream-process.ts";
import { pipelineEnv, testNames } from "../harness/names.ts";
import { expectedSums, flowTotals } from "../harness/flows-check.ts";

const BATCH = 5000;
const MAX_BUFFERED = 20_000;
const OUTAGE_MS = 30_000;
// prom-client's process metrics under common/src/metrics.ts's "skystream_" prefix.
const RSS = "skystream_process_resident_memory_bytes";

// This file restarts its broker: it owns one.
let broker: KafkaBroker;
let bus: Bus;
before(async () => {
  broker = await startKafka();
  bus = createBus("kafka", kafkaConfig.parse({ brokers: [broker.bootstrap] }), pino({ level: "silent" }));
});
after(async () => {
  await bus?.close();
  await broker?.stop();
});

async function caughtUp(group: string, topic: string, n: number): Promise<boolean> {
  const lags = await bus.lag(group, topic);
  return lags.reduce((s, l) => s + Number(l.end), 0) === n && totalLag(lags) === 0;
}

async function assertExactlyOnce(url: string, host: string, n: number): Promise<void> {
  const ch = createClient({ url, log: { level: ClickHouseLogLevel.OFF } });
  try {
    const got = await flowTotals(ch, host);
    assert.equal(got.flows, n, "every flow is in ClickHouse");
    assert.equal(got.rows, n, "exactly one row per flow: no duplicate");
    assert.deepEqual(got.sums, expectedSums(n), "sums exact");
  } finally {
    await ch.close();
  }
}

function agentEnv(n: ReturnType<typeof testNames>): Record<string, string> {
  return {
    SKYSTREAM_KAFKA_BROKERS: broker.bootstrap,
    SKYSTREAM_AGENT_HOST_ID: n.id,
    SKYSTREAM_AGENT_FLOW_TOPIC: n.flows,
    SKYSTREAM_KAFKA_TOPICS_PARTITIONS: "3",
  };
}

const failWith =
  (p: SkystreamProcess, extra = "") =>
  (e: Error) => {
    throw new Error(`${e.message}\n--- pipeline:\n${p.output().slice(-4000)}${extra}`);
  };

test("ClickHouse SIGKILLed for 30 s mid-stream: consumption pauses, memory bounded, exactly one row per flow", { timeout: 240_000 }, async (t) => {
  const N = 120_000;
  // For a post-mortem: every query with its deduplication token, and the pipeline's output.
  const logs = mkdtempSync(join(tmpdir(), "skystream-choutage-logs-"));
  t.diagnostic(`logs in ${logs}`);
  const server = await startClickhouseServer({ queryLog: join(logs, "clickhouse-queries.jsonl") });
  t.after(() => server.kill());
  const n = testNames("choutage");
  const pipeline = await startSkystream(["pipeline"], {
    ...pipelineEnv(n, broker.bootstrap, { batch_size: BATCH, max_buffered_rows: MAX_BUFFERED }),
    SKYSTREAM_CLICKHOUSE_URL: server.url,
  });
  t.after(() => pipeline.kill("SIGKILL"));
  t.after(() => writeFileSync(join(logs, "pipeline.log"), pipeline.output()));
  await pipeline.waitForOutput(/pipeline running/);
  const agent = await startSkystream(["agent", "--synthetic", "3000", "--count", String(N)], agentEnv(n));
  t.after(() => agent.kill("SIGKILL"));

  const m = (name: string) => pipeline.metric(name);
  await waitFor("10,000 flows inserted", async () => (await m("skystream_sink_rows_inserted_total")) >= 10_000, 90_000).catch(failWith(pipeline));
  const rssBefore = await m(RSS);
  assert.ok(rssBefore > 0, `${RSS} is exported`);
  const errorsBefore = await m("skystream_sink_insert_errors_total");
  const insertedBefore = await m("skystream_sink_rows_inserted_total");
  const producedAtStart = (await bus.lag(n.group, n.flows)).reduce((s, l) => s + Number(l.end), 0);

  // ClickHouse goes away: SIGKILL, nothing flushed. The agent keeps streaming into Kafka.
  await server.kill();
  const outageStart = Date.now();
  const recordsInAtStart = await m("skystream_sink_records_in_total");
  let maxBuffered = 0;
  let maxRss = rssBefore;
  let samples = 0;
  while (Date.now() - outageStart < OUTAGE_MS) {
    maxBuffered = Math.max(maxBuffered, await m("skystream_sink_buffered_rows"));
    maxRss = Math.max(maxRss, await m(RSS));
    samples++;
    await new Promise((r) => setTimeout(r, 250));
  }
  const recordsInAtEnd = await m("skystream_sink_records_in_total");
  const producedAtEnd = (await bus.lag(n.group, n.flows)).reduce((s, l) => s + Number(l.end), 0);
  const errorsDuring = (await m("skystream_sink_insert_errors_total")) - errorsBefore;
  const insertedDuring = (await m("skystream_sink_rows_inserted_total")) - insertedBefore;
  await server.restart();
  const mb = (b: number) => Math.round(b / 2 ** 20);
  t.diagnostic(
    `outage ${Date.now() - outageStart} ms, ${samples} samples: buffered rows peaked at ${maxBuffered}; RSS ${mb(rssBefore)} MB before, ` +
      `${mb(maxRss)} MB peak; ${recordsInAtEnd - recordsInAtStart} records read and ${producedAtEnd - producedAtStart} produced during it; ` +
      `${errorsDuring} failed insert attempts`,
  );

  assert.equal(await agent.exited, 0, agent.output().slice(-3000));
  await waitFor("the pipeline to catch up after ClickHouse came back", async () => caughtUp(n.group, n.flows, N), 150_000, 1000).catch(
    failWith(pipeline, `\n--- server:\n${server.output().slice(-2000)}`),
  );
  assert.equal(await pipeline.kill("SIGTERM"), 0, pipeline.output().slice(-2000));

  // Both verdicts are reported, whichever fails.
  await t.test("while ClickHouse was away: consumption paused, buffered rows and memory bounded, errors counted", () => {
    assert.ok(errorsDuring > 0, "the pipeline saw the outage (insert errors counted)");
    assert.ok(
      recordsInAtEnd - recordsInAtStart <= MAX_BUFFERED + BATCH,
      `consumption paused: ${recordsInAtEnd - recordsInAtStart} records read during the outage (max_buffered_rows ${MAX_BUFFERED})`,
    );
    assert.ok(insertedDuring <= BATCH, `nothing (beyond an insert under way) was acknowledged while ClickHouse was away: ${insertedDuring}`);
    assert.ok(maxBuffered >= MAX_BUFFERED, `the buffer filled up to its bound (${maxBuffered})`);
    assert.ok(maxBuffered <= MAX_BUFFERED + BATCH, `buffered rows stayed within max_buffered_rows + one batch: ${maxBuffered}`);
    assert.ok(producedAtEnd - producedAtStart > MAX_BUFFERED + BATCH, "the stream kept coming into Kafka meanwhile");
    assert.ok(maxRss < rssBefore + 256 * 2 ** 20, `RSS stayed bounded: ${mb(rssBefore)} -> ${mb(maxRss)} MB`);
    assert.ok(maxRss < 1024 * 2 ** 20, `RSS under 1 GiB: ${mb(maxRss)} MB`);
  });
  await t.test("afterwards: exactly one row per flow, sums exact", () => assertExactlyOnce(server.url, n.id, N));
});

test("the Kafka broker restarted mid-stream with ClickHouse over HTTP: exactly one row per flow", { timeout: 240_000 }, async (t) => {
  const N = 60_000;
  const server = await startClickhouseServer();
  t.after(() => server.kill());
  const n = testNames("chbroker");
  const pipeline = await startSkystream(["pipeline"], {
    ...pipelineEnv(n, broker.bootstrap, { batch_size: BATCH }),
    SKYSTREAM_CLICKHOUSE_URL: server.url,
  });
  t.after(() => pipeline.kill("SIGKILL"));
  await pipeline.waitForOutput(/pipeline running/);
  const agent = await startSkystream(["agent", "--synthetic", "6000", "--count", String(N)], agentEnv(n));
  t.after(() => agent.kill("SIGKILL"));

  await waitFor("10,000 flows inserted", async () => (await pipeline.metric("skystream_sink_rows_inserted_total")) >= 10_000, 90_000).catch(failWith(pipeline));
  const insertedAtStop = await pipeline.metric("skystream_sink_rows_inserted_total");
  await broker.stop();
  const downAt = Date.now();
  await new Promise((r) => setTimeout(r, 8000));
  await broker.restart();
  t.diagnostic(`broker down for ${Date.now() - downAt} ms, after ${insertedAtStop} rows inserted`);
  assert.ok(insertedAtStop < N, "stopped mid-stream");

  assert.equal(await agent.exited, 0, agent.output().slice(-3000));
  await waitFor("the pipeline to catch up after the broker came back", async () => caughtUp(n.group, n.flows, N), 180_000, 1000).catch(failWith(pipeline));
  assert.match(pipeline.output(), /ECONNREFUSED|Connection error|retrying/i, "the outage was seen by the pipeline");
  assert.equal(await pipeline.kill("SIGTERM"), 0, pipeline.output().slice(-2000));
  await assertExactlyOnce(server.url, n.id, N);
});
