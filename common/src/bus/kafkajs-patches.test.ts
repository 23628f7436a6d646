import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { test } from "node:test";
import "./kafkajs.js";
import { encodeRecord, groupMessagesPerPartition, original, type RecordArgs } from "./kafkajs-patches.js";

const require = createRequire(import.meta.url);

test("kafkajs groups a send's messages with the linear grouping, each partition in send order", () => {
  assert.equal(require("kafkajs/src/producer/groupMessagesPerPartition.js"), groupMessagesPerPartition);
  const messages = Array.from({ length: 10 }, (_, i) => ({ i }));
  const grouped = groupMessagesPerPartition({ topic: "t", partitionMetadata: [{}, {}, {}], messages, partitioner: ({ message }) => message.i % 3 });
  assert.deepEqual(grouped, { 0: [{ i: 0 }, { i: 3 }, { i: 6 }, { i: 9 }], 1: [{ i: 1 }, { i: 4 }, { i: 7 }], 2: [{ i: 2 }, { i: 5 }, { i: 8 }] });
  assert.deepEqual(groupMessagesPerPartition({ topic: "t", partitionMetadata: [], messages, partitioner: () => 0 }), {});
});

test("kafkajs encodes records with ours, byte for byte what its own encoder writes", () => {
  assert.equal(require("kafkajs/src/protocol/recordBatch/record/v0/index.js"), encodeRecord);
  assert.ok(original.record, "kafkajs's own record encoder was kept for comparison");
  const big = Buffer.alloc(70_000, 7);
  const cases: RecordArgs[] = [
    { value: Buffer.from("v") },
    { key: null, value: null },
    { offsetDelta: 0, timestampDelta: 0, key: Buffer.from("k"), value: Buffer.from("value") },
    { offsetDelta: 9999, timestampDelta: -5, key: "κλειδί", value: "τιμή" },
    { offsetDelta: 300, timestampDelta: 2 ** 40, key: Buffer.alloc(0), value: big },
    { offsetDelta: 64, timestampDelta: 63, value: Buffer.from("x"), headers: { reason: "schema", source: Buffer.from("t:0:1"), many: ["a", "bb"] } },
    { offsetDelta: 1, timestampDelta: -(2 ** 35), value: Buffer.from("y"), headers: { empty: "" } },
  ];
  for (const c of cases) assert.deepEqual(encodeRecord(c).buffer, original.record!(c).buffer, JSON.stringify({ ...c, value: String(c.value).slice(0, 20) }));
});
