// Three pipeline processes in one consumer group share a 6-partition topic and one ClickHouse (the HTTP
// stand-in over the real engine): real agent -> real Kafka broker -> 3 x `skystream pipeline` -> ClickHouse
// over HTTP. One pipeline is SIGKILLed mid-stream after it has inserted rows; its partitions go to the
// others, which repeat its ledger ranges: afterwards exactly N rows, no duplicate, sums exact, and every
// process inserted rows.
import { test } from "node:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import pino from "pino";
import { createClient, ClickHouseLogLevel } from "@clickhouse/client";
import { createBus, kafkaConfig, totalLag } from "@skystream/common";
import { testKafka } from "../harness/kafka.ts";
import { startClickhouseServer } from "../harness/clickhouse-server.ts";
import { startSkystream, waitFor, type SkystreamProcess } from "../harness/skystream-process.ts";
import { pipelineEnv, testNames } from "../harness/names.ts";
import { expectedSums, flowTotals } from "../harness/flows-check.ts";
import { describeGroup } from "../harness/kafka-group.ts";

const N = 150_000;
const RATE = 5000;
const PARTITIONS = 6;

test("three pipelines share the partitions and one ClickHouse; one SIGKILLed mid-stream: exactly one row per flow", { timeout: 360_000 }, async (t) => {
  const { bootstrap } = await testKafka();
  // For a post-mortem: every query with its deduplication token, and each process's output.
  const logs = mkdtempSync(join(tmpdir(), "skystream-scaleout-logs-"));
  const server = await startClickhouseServer({ queryLog: join(logs, "clickhouse-queries.jsonl") });
  t.after(() => server.kill());
  const n = testNames("scaleout");
  const env = {
    ...pipelineEnv(n, bootstrap, { batch_size: 5000 }),
    SKYSTREAM_KAFKA_TOPICS_PARTITIONS: String(PARTITIONS),
    SKYSTREAM_CLICKHOUSE_URL: server.url,
    // A short session: the killed member's partitions move in seconds, not 30.
    SKYSTREAM_KAFKA_CONSUMER_SESSION_TIMEOUT: "6s",
  };
  const bus = createBus("kafka", kafkaConfig.parse({ brokers: [bootstrap] }), pino({ level: "warn" }));
  t.after(() => bus.close());

  const pipelines: SkystreamProcess[] = [];
  for (let i = 0; i < 3; i++) {
    const p = await startSkystream(["pipeline"], env);
    t.after(() => p.kill("SIGKILL"));
    t.after(() => writeFileSync(join(logs, `pipeline-${i}.log`), p.output()));
    pipelines.push(p);
  }
  await Promise.all(pipelines.map((p) => p.waitForOutput(/pipeline running/)));
  // The group settles before the stream: three members, two partitions each (a member that joins while
  // data flows is another test).
  const settled = await waitFor(
    "the group to settle with three members",
    async () => {
      const g = await describeGroup(bootstrap, n.group, n.flows);
      const sizes = [...g.members.values()].map((p) => p.length);
      return g.state === "Stable" && sizes.length === 3 && sizes.every((s) => s === PARTITIONS / 3) ? g : undefined;
    },
    60_000,
    500,
  );
  t.diagnostic(`assignment: ${[...settled.members.values()].map((p) => p.join("+")).join(" | ")}`);
  assert.match(pipelines[0]!.output(), /clickhouse: server/, "the pipeline writes through the HTTP interface");

  const agent = await startSkystream(["agent", "--synthetic", String(RATE), "--count", String(N)], {
    SKYSTREAM_KAFKA_BROKERS: bootstrap,
    SKYSTREAM_AGENT_HOST_ID: n.id,
    SKYSTREAM_AGENT_FLOW_TOPIC: n.flows,
    SKYSTREAM_KAFKA_TOPICS_PARTITIONS: String(PARTITIONS),
  });
  t.after(() => agent.kill("SIGKILL"));
  t.diagnostic(`logs in ${logs}`);

  const inserted = (p: SkystreamProcess) => p.metric("skystream_sink_rows_inserted_total");
  const describe = () =>
    pipelines.map((p, i) => `--- pipeline ${i}:\n${p.output().slice(-2500)}`).join("\n") + `\n--- server:\n${server.output().slice(-2000)}`;

  // Every member gets partitions and inserts; then the first one is killed while the agent still streams.
  await waitFor("all three pipelines to insert rows", async () => (await Promise.all(pipelines.map(inserted))).every((v) => v > 0), 90_000).catch(
    (e: Error) => {
      throw new Error(`${e.message}\n${describe()}`);
    },
  );
  await new Promise((r) => setTimeout(r, 1500));
  const byProcess = await Promise.all(pipelines.map(inserted));
  const produced = (await bus.lag(n.group, n.flows)).reduce((s, l) => s + Number(l.end), 0);
  const victim = pipelines[0]!;
  await victim.kill("SIGKILL");
  t.diagnostic(`rows inserted per process when pipeline 0 was killed: ${byProcess.join(", ")}; ${produced} of ${N} flows produced by then`);
  assert.ok(produced < N, `killed mid-stream (${produced} of ${N} flows produced)`);
  assert.equal(agent.child.exitCode, null, "the agent was still streaming at the kill");

  assert.equal(await agent.exited, 0, `agent failed:\n${agent.output().slice(-3000)}`);
  const survivors = pipelines.slice(1);
  await waitFor(
    "the two remaining pipelines to catch up with every flow",
    async () => {
      const lags = await bus.lag(n.group, n.flows);
      return lags.length === PARTITIONS && lags.reduce((s, l) => s + Number(l.end), 0) === N && totalLag(lags) === 0;
    },
    180_000,
    500,
  ).catch((e: Error) => {
    throw new Error(`${e.message}\n${describe()}`);
  });
  const final = await Promise.all(survivors.map(inserted));
  t.diagnostic(`rows inserted by the survivors at the end: ${final.join(", ")}`);
  for (const p of survivors) assert.equal(await p.kill("SIGTERM"), 0, p.output().slice(-2000));

  assert.ok(
    [byProcess[0]!, ...final].every((v) => v > 0),
    `every process inserted rows: ${byProcess[0]}, ${final.join(", ")}`,
  );

  const ch = createClient({ url: server.url, log: { level: ClickHouseLogLevel.OFF } });
  t.after(() => ch.close());
  const got = await flowTotals(ch, n.id);
  assert.equal(got.flows, N, "every flow is in ClickHouse");
  assert.equal(got.rows, N, "exactly one row per flow: nothing duplicated by the kill or the rebalance");
  assert.deepEqual(got.sums, expectedSums(N), "sums exact");
  // Every partition went through the sink ledger (ranges recorded before their inserts).
  const [ledger] = await (
    await ch.query({
      query: `SELECT uniqExact(Partition) AS p FROM skystream.sink_ledger WHERE Topic = {t:String}`,
      query_params: { t: n.flows },
      format: "JSONEachRow",
    })
  ).json<{ p: string }>();
  assert.equal(Number(ledger!.p), PARTITIONS);
});
