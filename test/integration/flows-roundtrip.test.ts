// 200,000 synthetic flows: real agent process -> real Kafka broker -> real pipeline process -> chDB.
// The pipeline is killed with SIGKILL at random points, ten times, while the stream runs: afterwards
// exactly 200,000 rows, no duplicate, sums exact (exactly-once: ledger + insert deduplication tokens).
import { test } from "node:test";
import assert from "node:assert/strict";
import { testKafka } from "../harness/kafka.ts";
import { openChdb, queryRows } from "../harness/clickhouse.ts";
import { startSkystream, waitFor } from "../harness/skystream-process.ts";
import { expectedSums } from "../harness/flows-check.ts";
import { pipelineEnv, testNames } from "../harness/names.ts";
import { createBus, totalLag, kafkaConfig } from "@skystream/common";
import pino from "pino";

const N = 200_000;
const KILLS = 10;

test("200k flows, the pipeline SIGKILLed ten times mid-stream: exactly one row per flow, sums exact", { timeout: 420_000 }, async (t) => {
  const { bootstrap } = await testKafka();
  const n = testNames("roundtrip");
  // A short session: a killed member's partitions go to the next process in seconds, not 30.
  const env = { ...pipelineEnv(n, bootstrap, { batch_size: 5000 }), SKYSTREAM_KAFKA_CONSUMER_SESSION_TIMEOUT: "6s" };
  const bus = createBus("kafka", kafkaConfig.parse({ brokers: [bootstrap] }), pino({ level: "warn" }));
  t.after(() => bus.close());

  let pipeline = await startSkystream(["pipeline"], env);
  t.after(() => pipeline.kill("SIGKILL"));
  await pipeline.waitForOutput(/pipeline running/);

  const agent = await startSkystream(["agent", "--synthetic", "3000", "--count", String(N)], {
    SKYSTREAM_KAFKA_BROKERS: bootstrap,
    SKYSTREAM_AGENT_HOST_ID: n.id,
    SKYSTREAM_AGENT_FLOW_TOPIC: n.flows,
    SKYSTREAM_KAFKA_TOPICS_PARTITIONS: "3",
  });
  t.after(() => agent.kill("SIGKILL"));

  // Kill -9 at random points while flows stream in (after some inserts of each run, at a random moment).
  let seed = 20261123;
  const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const killedAfter: number[] = [];
  const caughtUp = async () => {
    const lags = await bus.lag(n.group, n.flows);
    return lags.reduce((s, l) => s + Number(l.end), 0) === N && totalLag(lags) === 0;
  };
  for (let k = 0; k < KILLS && !(await caughtUp()); k++) {
    await waitFor("some inserts", async () => ((await pipeline.metric("skystream_sink_rows_inserted_total")) > 0 ? true : undefined), 90_000).catch(
      (e: Error) => {
        throw new Error(`${e.message} (run ${k + 1})\n${pipeline.output().slice(-4000)}`);
      },
    );
    await new Promise((r) => setTimeout(r, 200 + random() * 1500));
    killedAfter.push(await pipeline.metric("skystream_sink_rows_inserted_total"));
    await pipeline.kill("SIGKILL");
    pipeline = await startSkystream(["pipeline"], env);
    await pipeline.waitForOutput(/pipeline running/);
  }
  t.diagnostic(`killed ${killedAfter.length} times, after ${killedAfter.join(", ")} rows inserted by each run`);

  const agentExit = await agent.exited;
  assert.equal(agentExit, 0, `agent failed:\n${agent.output()}`);
  assert.ok(killedAfter.length >= 5, `killed mid-stream ${killedAfter.length} times`);
  await waitFor("the group to catch up with every flow", async () => (await caughtUp()) || undefined, 120_000, 500).catch((e: Error) => {
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
  assert.equal(Number(total), N, "exactly one row per flow: no duplicate after ten SIGKILLs");
});
