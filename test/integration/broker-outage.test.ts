// The broker goes away for a while in the middle of a stream: the agent's queue stays bounded and its
// probe waits, the pipeline retries, and after the broker is back every flow arrives.
import { test } from "node:test";
import assert from "node:assert/strict";
import pino from "pino";
import { createBus, kafkaConfig, totalLag } from "@skystream/common";
import { startKafka } from "../harness/kafka.ts";
import { openChdb, queryRows } from "../harness/clickhouse.ts";
import { startSkystream, waitFor } from "../harness/skystream-process.ts";
import { pipelineEnv, testNames } from "../harness/names.ts";

const N = 60_000;
const MAX_BUFFERED = 10_000;

test("a broker restart mid-stream loses nothing and keeps the agent's memory bounded", { timeout: 300_000 }, async (t) => {
  const broker = await startKafka();
  t.after(() => broker.stop());
  const n = testNames("outage");
  const bus = createBus("kafka", kafkaConfig.parse({ brokers: [broker.bootstrap] }), pino({ level: "silent" }));
  t.after(() => bus.close());

  const pipeline = await startSkystream(["pipeline"], pipelineEnv(n, broker.bootstrap));
  t.after(() => pipeline.kill("SIGKILL"));
  await pipeline.waitForOutput(/pipeline running/);
  const agent = await startSkystream(["agent", "--synthetic", "6000", "--count", String(N)], {
    SKYSTREAM_KAFKA_BROKERS: broker.bootstrap,
    SKYSTREAM_AGENT_HOST_ID: n.id,
    SKYSTREAM_AGENT_FLOW_TOPIC: n.flows,
    SKYSTREAM_AGENT_FLOW_MAX_BUFFERED: String(MAX_BUFFERED),
    SKYSTREAM_KAFKA_TOPICS_PARTITIONS: "3",
  });
  t.after(() => agent.kill("SIGKILL"));

  await waitFor("some flows inserted", async () => (await pipeline.metric("skystream_sink_rows_inserted_total")) >= 10_000, 60_000);
  await broker.stop();
  const outageStart = Date.now();
  let maxQueued = 0;
  while (Date.now() - outageStart < 6000) {
    maxQueued = Math.max(maxQueued, await agent.metric("skystream_agent_send_queue_records").catch(() => 0));
    await new Promise((r) => setTimeout(r, 200));
  }
  await broker.restart();
  t.diagnostic(`broker down for ${Date.now() - outageStart} ms; agent queue peaked at ${maxQueued} records`);
  assert.ok(maxQueued > 0, "the agent queued while the broker was away");
  assert.ok(maxQueued <= MAX_BUFFERED + 1000, `agent queue bounded: ${maxQueued}`);

  assert.equal(await agent.exited, 0, agent.output().slice(-3000));
  await waitFor(
    "the pipeline to catch up after the outage",
    async () => {
      const lags = await bus.lag(n.group, n.flows);
      return lags.reduce((s, l) => s + Number(l.end), 0) >= N && totalLag(lags) === 0;
    },
    180_000,
    1000,
  ).catch((e: Error) => {
    throw new Error(`${e.message}\n${pipeline.output().slice(-3000)}`);
  });
  assert.match(pipeline.output() + agent.output(), /ECONNREFUSED|Connection error|retrying/i, "the outage was logged");
  assert.equal(await pipeline.kill("SIGTERM"), 0);
  const ch = openChdb(n.dataDir);
  t.after(() => ch.close());
  const [row] = await queryRows<{ u: string }>(ch, `SELECT uniqExact(UUID) AS u FROM skystream.flows WHERE Host = '${n.id}'`);
  assert.equal(Number(row!.u), N);
});
