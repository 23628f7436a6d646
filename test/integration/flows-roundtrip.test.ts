// 100,000 synthetic flows: real agent process -> real Kafka broker -> real pipeline process -> chDB.
// The pipeline is killed with SIGKILL half way and started again: no flow may be lost.
import { test } from "node:test";
import assert from "node:assert/strict";
import { testKafka } from "../harness/kafka.ts";
import { openChdb, queryRows } from "../harness/clickhouse.ts";
import { startSkystream, waitFor } from "../harness/skystream-process.ts";
import { pipelineEnv, testNames } from "../harness/names.ts";
import { createBus, totalLag, kafkaConfig } from "@skystream/common";
import pino from "pino";

const N = 100_000;

function expectedSums(n: number) {
  let abp = 0,
    abb = 0,
    bap = 0,
    bab = 0;
  for (let i = 0; i < n; i++) {
    const a = 1 + (i % 7),
      b = i % 5;
    abp += a;
    abb += a * 100;
    bap += b;
    bab += b * 1000;
  }
  return { abp, abb, bap, bab };
}

test("100k flows survive a SIGKILL of the pipeline: none lost, duplicates counted", { timeout: 300_000 }, async (t) => {
  const { bootstrap } = await testKafka();
  const n = testNames("roundtrip");
  const env = pipelineEnv(n, bootstrap);
  const bus = createBus("kafka", kafkaConfig.parse({ brokers: [bootstrap] }), pino({ level: "warn" }));
  t.after(() => bus.close());

  let pipeline = await startSkystream(["pipeline"], env);
  t.after(() => pipeline.kill("SIGKILL"));
  await pipeline.waitForOutput(/pipeline running/);

  const agent = await startSkystream(["agent", "--synthetic", "25000", "--count", String(N)], {
    SKYSTREAM_KAFKA_BROKERS: bootstrap,
    SKYSTREAM_AGENT_HOST_ID: n.id,
    SKYSTREAM_AGENT_FLOW_TOPIC: n.flows,
    SKYSTREAM_KAFKA_TOPICS_PARTITIONS: "3",
  });
  t.after(() => agent.kill("SIGKILL"));

  // Kill -9 once some but not all flows are in ClickHouse.
  const before = await waitFor("first inserts", async () => {
    const rows = await pipeline.metric("skystream_sink_rows_inserted_total");
    return rows >= 20_000 ? rows : undefined;
  });
  await pipeline.kill("SIGKILL");
  t.diagnostic(`pipeline killed after ${before} rows inserted`);

  const agentExit = await agent.exited;
  assert.equal(agentExit, 0, `agent failed:\n${agent.output()}`);

  pipeline = await startSkystream(["pipeline"], env);
  await waitFor(
    "the group to catch up with every flow",
    async () => {
      const lags = await bus.lag(n.group, n.flows);
      const end = lags.reduce((s, l) => s + Number(l.end), 0);
      return end === N && totalLag(lags) === 0;
    },
    120_000,
    500,
  ).catch((e: Error) => {
    throw new Error(`${e.message}\n${pipeline.output().slice(-3000)}`);
  });
  assert.equal(await pipeline.kill("SIGTERM"), 0, pipeline.output().slice(-2000));

  const ch = openChdb(n.dataDir);
  t.after(() => ch.close());
  const [row] = await queryRows<Record<string, string>>(
    ch,
    `SELECT count() AS rows, uniqExact(UUID) AS flows,
            sum(abp) AS abp, sum(abb) AS abb, sum(bap) AS bap, sum(bab) AS bab
     FROM (SELECT UUID, any(LastUpdateMetric.ABPackets) abp, any(LastUpdateMetric.ABBytes) abb,
                  any(LastUpdateMetric.BAPackets) bap, any(LastUpdateMetric.BABytes) bab
           FROM skystream.flows WHERE Host = '${n.id}' GROUP BY UUID)`,
  );
  const [{ total }] = (await queryRows<{ total: string }>(ch, `SELECT count() AS total FROM skystream.flows WHERE Host = '${n.id}'`)) as [{ total: string }];
  const e = expectedSums(N);
  assert.equal(Number(row!.flows), N, "every flow is in ClickHouse");
  assert.equal(Number(row!.abp), e.abp);
  assert.equal(Number(row!.abb), e.abb);
  assert.equal(Number(row!.bap), e.bap);
  assert.equal(Number(row!.bab), e.bab);
  const duplicates = Number(total) - N;
  assert.ok(duplicates >= 0);
  t.diagnostic(`duplicates after the SIGKILL replay: ${duplicates} of ${N} rows (at-least-once)`);
});
