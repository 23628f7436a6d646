// Poison records between valid ones: every poison record lands in the DLQ with its reason and source
// position, every valid record reaches ClickHouse, and the pipeline keeps running.
import { test } from "node:test";
import assert from "node:assert/strict";
import pino from "pino";
import { AvroCodec, DLQ_HEADERS, FLOW_RECORD } from "@skystream/schemas";
import { syntheticFlow } from "@skystream/schemas/testing/flows";
import { createBus, kafkaConfig, totalLag, type BusMessage, type OutMessage } from "@skystream/common";
import { testKafka } from "../harness/kafka.ts";
import { openChdb, queryRows } from "../harness/clickhouse.ts";
import { startSkystream, waitFor } from "../harness/skystream-process.ts";
import { pipelineEnv, testNames } from "../harness/names.ts";
import { poisonRecords } from "../harness/poison.ts";

test("poison records go to the DLQ with reasons; valid records around them all arrive", { timeout: 180_000 }, async (t) => {
  const { bootstrap } = await testKafka();
  const n = testNames("dlq");
  const bus = createBus("kafka", kafkaConfig.parse({ brokers: [bootstrap], topics: { partitions: 3 } }), pino({ level: "warn" }));
  t.after(() => bus.close());
  await bus.ensureTopics([
    { topic: n.flows, partitions: 3, replicationFactor: 1 },
    { topic: n.dlq, partitions: 1, replicationFactor: 1 },
  ]);

  const codec = new AvroCodec();
  const now = Date.now();
  const valid = (i: number): OutMessage => {
    const f = syntheticFlow(i, now, n.id);
    return { key: f.TrackingID, value: codec.encode(FLOW_RECORD, f) };
  };
  const poison = poisonRecords(codec, now, n.id);
  // 1000 valid records with the poison ones spread between them, all on one key so order is known.
  const messages: OutMessage[] = [];
  for (let i = 0; i < 1000; i++) {
    messages.push({ ...valid(i), key: "k" });
    if (i % 125 === 60) {
      const p = poison[Math.floor(i / 125)]!;
      messages.push({ key: "k", value: p.value, headers: { "x-test": p.reason } });
    }
  }
  assert.equal(messages.length, 1000 + poison.length);
  const producer = bus.producer();
  await producer.connect();
  await producer.send(n.flows, messages);
  await producer.disconnect();

  const pipeline = await startSkystream(["pipeline"], pipelineEnv(n, bootstrap));
  t.after(() => pipeline.kill("SIGKILL"));
  await pipeline.waitForOutput(/pipeline running/);
  await waitFor(
    "the group to catch up",
    async () => totalLag(await bus.lag(n.group, n.flows)) === 0 && (await pipeline.metric("skystream_dlq_records_total")) === poison.length,
    90_000,
    300,
  ).catch((e: Error) => {
    throw new Error(`${e.message}\n${pipeline.output().slice(-3000)}`);
  });

  // Read the DLQ back.
  const dead: BusMessage[] = [];
  const consumer = bus.consumer(`${n.id}-reader`);
  await consumer.connect();
  await consumer.subscribe([n.dlq], true);
  await consumer.run({
    onBatch: async (b) => {
      dead.push(...b.messages);
    },
  });
  await waitFor("dead letters", async () => dead.length >= poison.length, 30_000);
  await consumer.disconnect();
  assert.equal(dead.length, poison.length);
  for (const d of dead) {
    assert.equal(d.headers[DLQ_HEADERS.reason], d.headers["x-test"], `reason of ${d.headers["x-test"]}`);
    assert.equal(d.headers[DLQ_HEADERS.topic], n.flows);
    assert.match(d.headers[DLQ_HEADERS.offset] ?? "", /^\d+$/);
    assert.ok((d.headers[DLQ_HEADERS.error] ?? "").length > 0);
    const original = poison.find((p) => p.reason === d.headers["x-test"] && p.value.equals(d.value ?? Buffer.alloc(0)));
    assert.ok(original, "the DLQ keeps the original bytes");
  }
  const dlqByReason = await pipeline.metric("skystream_dlq_records_total", { reason: "bad_magic" });
  assert.equal(dlqByReason, 2, "counted by reason in /metrics");
  assert.equal(await pipeline.kill("SIGTERM"), 0);

  const ch = openChdb(n.dataDir);
  t.after(() => ch.close());
  const [row] = await queryRows<{ c: string; u: string }>(ch, `SELECT count() AS c, uniqExact(UUID) AS u FROM skystream.flows WHERE Host = '${n.id}'`);
  assert.equal(Number(row!.u), 1000, "every valid record arrived");
});
