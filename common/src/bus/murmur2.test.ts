import { test } from "node:test";
import assert from "node:assert/strict";
import kafkajs from "kafkajs";
import { murmur2, partitionOf } from "./murmur2.js";

test("murmur2 partitions keys exactly like Kafka's default partitioner", () => {
  // kafkajs's own Java-compatible partitioner is the oracle.
  const oracle = kafkajs.Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: 7 }, (_, i) => ({ partitionId: i, leader: 1, partitionErrorCode: 0, replicas: [1], isr: [1] }));
  for (let i = 0; i < 2000; i++) {
    const key = `${i.toString(16)}-${"x".repeat(i % 13)}`;
    assert.equal(partitionOf(key, 7), oracle({ topic: "t", partitionMetadata, message: { key, value: null } }), key);
  }
  // Java's Utils.murmur2("21") and ("foobar"), as published in Kafka's UtilsTest.
  assert.equal(murmur2(Buffer.from("21")), -973932308);
  assert.equal(murmur2(Buffer.from("foobar")), -790332482);
});
