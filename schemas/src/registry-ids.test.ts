// The codec with a schema registry's ids: frames per topic, ids learned from the registry resolved by the
// record's name like the pinned ones, and records written with pinned ids still read.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type avro from "avsc";
import { AvroCodec, DecodeError, readFrame } from "./codec.js";
import { CONTROL_MESSAGE, FLOW_RECORD, TOPOLOGY_DELTA, loadSchema } from "./catalog.js";
import { syntheticFlow } from "./testing/flows.js";
import type { FlowRecord } from "./types.generated.js";

const NOW = 1_763_900_000_000;
const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v));
const reasonOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof DecodeError, String(err));
    return err.reason;
  }
  return assert.fail("did not throw");
};

test("records are framed with the registry's id of their topic, the pinned id elsewhere", () => {
  const codec = new AvroCodec();
  codec.useWriterId("flows", FLOW_RECORD, 107);
  const flow = syntheticFlow(1, NOW);
  assert.equal(readFrame(codec.encode(FLOW_RECORD, flow, "flows")).schemaId, 107);
  assert.equal(readFrame(codec.encode(FLOW_RECORD, flow, "other")).schemaId, 4);
  assert.equal(readFrame(codec.encode(FLOW_RECORD, flow)).schemaId, 4);
  assert.equal(codec.writerId(FLOW_RECORD, "flows"), 107);
});

test("a registry id learned with a catalogued schema reads as that version, whatever its text", () => {
  const codec = new AvroCodec();
  // A registry may hand the schema back reformatted, docs and all: the canonical form decides.
  const v1 = JSON.parse(JSON.stringify(loadSchema("FlowRecord.v1.avsc")), (k, v: unknown) => (k === "doc" ? undefined : v)) as avro.Schema;
  assert.equal(codec.learn(201, v1), codec.schema(1), "the catalog's v1 entry");
  assert.equal(codec.learn(204, loadSchema("FlowRecord.v2.avsc")), codec.schema(4));
  const writer = new AvroCodec(); // a v2 producer framing with the registry's id
  writer.useWriterId("flows", FLOW_RECORD, 204);
  const flow = syntheticFlow(2, NOW);
  const out = codec.decode<FlowRecord>(writer.encode(FLOW_RECORD, flow, "flows"), FLOW_RECORD);
  assert.equal(out.schemaId, 204);
  assert.equal(out.writer, codec.schema(4));
  assert.deepEqual(plain(out.value), plain(flow));
});

test("a registry schema of an unknown layout is resolved to the reader version by the record's name", () => {
  const future = JSON.parse(readFileSync(new URL("./testdata/FlowRecord.v2-fixture.avsc", import.meta.url), "utf8")) as avro.Schema;
  const codec = new AvroCodec();
  const e = codec.learn(300, future);
  assert.equal(e.version, 0, "not a catalogued version");
  assert.equal(e.name, FLOW_RECORD);
  const futureCodec = new AvroCodec([{ ...e, id: 300 }]);
  const flow = { ...syntheticFlow(3, NOW), Extra: "x" } as unknown as FlowRecord;
  const { value, writer } = codec.decode<FlowRecord>(futureCodec.encode(FLOW_RECORD, flow), FLOW_RECORD);
  assert.equal(writer, e);
  assert.equal(value.UUID, flow.UUID);
});

test("pinned ids stay readable: the registry's id of another record, or an id it has not, is the pinned one", () => {
  const codec = new AvroCodec();
  // The registry numbered TopologyDelta 4, ControlMessage 1: pinned 4 is FlowRecord v2, pinned 1 FlowRecord v1.
  codec.learn(4, loadSchema("TopologyDelta.v1.avsc"));
  codec.learn(1, loadSchema("ControlMessage.v1.avsc"));
  codec.markAbsent(5, Date.now() + 60_000);
  const pinned = new AvroCodec();
  const flow = syntheticFlow(4, NOW);
  assert.deepEqual(plain(codec.decode(pinned.encode(FLOW_RECORD, flow), FLOW_RECORD).value), plain(flow), "pinned 4 on a flows topic");
  const delta = { Op: "HEARTBEAT", Origin: "agent.x", Host: "x", Time: NOW, Sequence: 1 };
  const framed = Buffer.from(pinned.encode(TOPOLOGY_DELTA, delta));
  framed.writeUInt32BE(4, 1);
  assert.equal(codec.decode(framed, TOPOLOGY_DELTA).writer.name, TOPOLOGY_DELTA, "registry 4 on a topology topic");
  // Neither the registry's nor the pinned record: the registry's name is reported.
  assert.equal(
    reasonOf(() => codec.decode(framed, CONTROL_MESSAGE)),
    "wrong_record",
  );
  const unknown = Buffer.from(framed);
  unknown.writeUInt32BE(77, 1);
  assert.equal(
    reasonOf(() => codec.decode(unknown, TOPOLOGY_DELTA)),
    "unknown_schema_id",
  );
  codec.markUnusable(78, "schema id 78 uses schema references");
  unknown.writeUInt32BE(78, 1);
  assert.throws(() => codec.decode(unknown, TOPOLOGY_DELTA), /references/);
});

test("prepare asks the registry only for ids not known yet, once per batch", async () => {
  const codec = new AvroCodec();
  const flow = new AvroCodec();
  flow.useWriterId("t", FLOW_RECORD, 9);
  const msgs = [flow.encode(FLOW_RECORD, syntheticFlow(1, NOW), "t"), flow.encode(FLOW_RECORD, syntheticFlow(2, NOW)), null, Buffer.from("junk")];
  await codec.prepare(msgs); // no registry: nothing asked
  const asked: number[][] = [];
  codec.setRegistryLookup(async (ids) => {
    asked.push(ids);
    for (const id of ids) if (id === 9) codec.learn(9, loadSchema("FlowRecord.v2.avsc"));
    for (const id of ids) if (id === 4) codec.markAbsent(4, Date.now() + 60_000);
  });
  await codec.prepare(msgs);
  await codec.prepare(msgs);
  assert.deepEqual(asked, [[9, 4]]);
  assert.equal(codec.decode(msgs[0]!, FLOW_RECORD).writer, codec.schema(4));
  codec.markAbsent(4, Date.now() - 1);
  await codec.prepare(msgs);
  assert.deepEqual(asked, [[9, 4], [4]], "an id not found is asked for again later");
});
