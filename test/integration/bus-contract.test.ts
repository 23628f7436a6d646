// One contract, three buses: kafkajs and node-rdkafka against the real broker, and the in-process bus.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import pino from "pino";
import { createBus, kafkaConfig, totalLag, type Bus, type BusMessage } from "@skystream/common";
import { testKafka } from "../harness/kafka.ts";
import { waitFor } from "../harness/skystream-process.ts";

const log = pino({ level: "warn" });

async function busFor(kind: "kafkajs" | "rdkafka" | "memory"): Promise<Bus> {
  if (kind === "memory") return createBus("memory", kafkaConfig.parse({ topics: { partitions: 3 } }), log);
  const { bootstrap } = await testKafka();
  return createBus("kafka", kafkaConfig.parse({ client: kind, brokers: [bootstrap] }), log);
}

for (const kind of ["kafkajs", "rdkafka", "memory"] as const) {
  describe(`bus contract: ${kind}`, { timeout: 120_000 }, () => {
    test("keyed messages keep their order per key, headers survive, commits move the group's lag to zero", async (t) => {
      const bus = await busFor(kind);
      t.after(() => bus.close());
      const topic = `contract-${kind}-${randomBytes(3).toString("hex")}`;
      const group = `${topic}-g`;
      await bus.ensureTopics([{ topic, partitions: 3, replicationFactor: 1 }]);
      await bus.ensureTopics([{ topic, partitions: 3, replicationFactor: 1 }]); // idempotent
      const producer = bus.producer();
      await producer.connect();
      const N = 3000;
      await producer.send(
        topic,
        Array.from({ length: N }, (_, i) => ({ key: `key-${i % 10}`, value: Buffer.from(String(i)), headers: { seq: String(i) } })),
      );
      await producer.disconnect();

      const got: BusMessage[] = [];
      const consumer = bus.consumer(group);
      await consumer.connect();
      await consumer.subscribe([topic], true);
      await consumer.run({
        onBatch: async (b) => {
          got.push(...b.messages);
          await consumer.commit([{ topic: b.topic, partition: b.partition, offset: String(BigInt(b.messages.at(-1)!.offset) + 1n) }]);
        },
      });
      await waitFor("all messages", async () => got.length >= N, 60_000);
      await waitFor("zero lag", async () => totalLag(await bus.lag(group, topic)) === 0, 30_000);
      await consumer.disconnect();
      assert.equal(got.length, N);
      const partitionOfKey = new Map<string, number>();
      const lastPerKey = new Map<string, number>();
      for (const m of got) {
        const key = m.key!.toString();
        const seq = Number(m.value!.toString());
        assert.equal(m.headers.seq, String(seq));
        assert.equal(partitionOfKey.get(key) ?? m.partition, m.partition, "one key, one partition");
        partitionOfKey.set(key, m.partition);
        assert.ok(seq > (lastPerKey.get(key) ?? -1), `order of ${key}`);
        lastPerKey.set(key, seq);
      }
      assert.ok(new Set(partitionOfKey.values()).size > 1, "keys spread over partitions");
      const lags = await bus.lag(group, topic);
      assert.equal(
        lags.reduce((s, l) => s + Number(l.end), 0),
        N,
      );
    });

    test("uncommitted messages are delivered again to the next consumer of the group", async (t) => {
      const bus = await busFor(kind);
      t.after(() => bus.close());
      const topic = `redeliver-${kind}-${randomBytes(3).toString("hex")}`;
      const group = `${topic}-g`;
      await bus.ensureTopics([{ topic, partitions: 1, replicationFactor: 1 }]);
      const producer = bus.producer();
      await producer.connect();
      await producer.send(
        topic,
        Array.from({ length: 100 }, (_, i) => ({ key: null, value: Buffer.from(String(i)) })),
      );
      await producer.disconnect();

      const first: BusMessage[] = [];
      const c1 = bus.consumer(group);
      await c1.connect();
      await c1.subscribe([topic], true);
      await c1.run({
        onBatch: async (b) => {
          first.push(...b.messages);
          const upTo = b.messages.find((m) => m.value!.toString() === "49");
          if (upTo) await c1.commit([{ topic, partition: b.partition, offset: String(BigInt(upTo.offset) + 1n) }]);
        },
      });
      await waitFor("first read", async () => first.length >= 100, 60_000);
      await c1.disconnect();

      const second: string[] = [];
      const c2 = bus.consumer(group);
      await c2.connect();
      await c2.subscribe([topic], true);
      await c2.run({
        onBatch: async (b) => {
          second.push(...b.messages.map((m) => m.value!.toString()));
        },
      });
      await waitFor("second read", async () => second.length >= 50, 60_000);
      await c2.disconnect();
      assert.equal(second[0], "50", "resumes after the last commit");
      assert.equal(second.length, 50);
    });
  });
}

test("in-process bus: retention caps a partition nobody reads", async () => {
  const { MemoryBus } = await import("@skystream/common");
  const bus = new MemoryBus(1, 100);
  const p = bus.producer();
  await p.send(
    "unread",
    Array.from({ length: 250 }, (_, i) => ({ value: Buffer.from(String(i)) })),
  );
  const [lag] = await bus.lag("nobody", "unread");
  assert.equal(lag!.end, "250", "offsets keep counting");
  const got: string[] = [];
  const c = bus.consumer("late");
  await c.subscribe(["unread"]);
  await c.run({ onBatch: async (b) => void got.push(...b.messages.map((m) => m.value!.toString())) });
  await waitFor("retained messages", async () => got.length >= 100, 5000);
  await c.disconnect();
  assert.equal(got[0], "150", "only the newest 100 are kept");
  assert.equal(got.length, 100);
});

test("in-process bus: a producer waits for a slow consumer group instead of losing messages", async () => {
  const { MemoryBus } = await import("@skystream/common");
  const bus = new MemoryBus(1, 100);
  const c = bus.consumer("slow");
  await c.subscribe(["busy"]);
  const got: string[] = [];
  await c.run({
    onBatch: async (b) => {
      got.push(...b.messages.map((m) => m.value!.toString()));
      await new Promise((r) => setTimeout(r, 5));
      await c.commit([{ topic: b.topic, partition: b.partition, offset: String(BigInt(b.messages.at(-1)!.offset) + 1n) }]);
    },
  });
  const p = bus.producer();
  for (let i = 0; i < 10; i++)
    await p.send(
      "busy",
      Array.from({ length: 50 }, (_, j) => ({ value: Buffer.from(String(i * 50 + j)) })),
    );
  await waitFor("all read", async () => got.length >= 500, 10_000);
  await c.disconnect();
  assert.deepEqual(
    got.map(Number),
    Array.from({ length: 500 }, (_, i) => i),
    "every message, in order",
  );
});
