import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import avro from "avsc";
import { AvroCodec, DecodeError, readFrame } from "./codec.js";
import { builtinCatalog, entry, FLOW_RECORD, TOPOLOGY_DELTA, type SchemaEntry } from "./catalog.js";
import { buildContainer, encodeLong } from "./container.js";
import { renderTypes } from "./typegen.js";
import { syntheticFlow } from "./testing/flows.js";
import type { FlowRecord, TopologyDelta } from "./types.generated.js";

const NOW = 1_763_900_000_000;
const v2Schema = JSON.parse(readFileSync(new URL("./testdata/FlowRecord.v2-fixture.avsc", import.meta.url), "utf8")) as avro.Schema;
// The fixture plays a future version (99) of FlowRecord with fields the shipped versions lack.
const v1Only = (): SchemaEntry[] => builtinCatalog().filter((e) => e.name !== FLOW_RECORD || e.version === 1);
const withV2 = (): SchemaEntry[] => [...builtinCatalog(), entry(1001, v2Schema, 99)];

const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof DecodeError, `expected DecodeError, got ${String(err)}`);
    return err.reason;
  }
  assert.fail("decode did not throw");
}

test("flow record round-trips with Confluent framing and the pinned id of its newest version (4)", () => {
  const codec = new AvroCodec();
  const flow = syntheticFlow(42, NOW);
  const buf = codec.encode(FLOW_RECORD, flow);
  assert.equal(buf[0], 0);
  assert.deepEqual(readFrame(buf), { schemaId: 4, bodyOffset: 5 });
  const { schemaId, value } = codec.decode<FlowRecord>(buf, FLOW_RECORD);
  assert.equal(schemaId, 4);
  assert.deepEqual(plain(value), plain(flow));
});

test("topology delta round-trips with pinned id 2 and defaults filled", () => {
  const codec = new AvroCodec();
  const delta: TopologyDelta = {
    Op: "ADD",
    Origin: "agent.h1",
    Host: "h1",
    Time: NOW,
    Sequence: 7,
    Node: {
      ID: "n1",
      Host: "h1",
      Origin: "agent.h1",
      Type: "veth",
      Name: "veth0",
      Metadata: { MAC: "02:00:00:00:00:01", MTU: 1500, State: "UP", IPV4: ["198.18.0.1/24"] },
      CreatedAt: NOW,
      UpdatedAt: NOW,
      Revision: 1,
    },
  };
  const buf = codec.encode(TOPOLOGY_DELTA, delta);
  assert.equal(readFrame(buf).schemaId, 2);
  const { value } = codec.decode<TopologyDelta>(buf, TOPOLOGY_DELTA);
  assert.equal(value.Node?.Metadata.MTU, 1500);
  assert.deepEqual(value.Node?.Metadata.IPV6, []);
  assert.equal(value.Node?.Metadata.Extra, "{}");
  assert.equal(value.Node?.DeletedAt, null);
  assert.equal(value.Edge, null);
  assert.equal(value.SnapshotID, "");
});

test("v1 reader reads v2 records: added fields dropped, the rest intact", () => {
  const writer = new AvroCodec(withV2(), { [FLOW_RECORD]: 99 });
  const reader = new AvroCodec(v1Only());
  const flow = { ...syntheticFlow(3, NOW), Tenant: "blue", Labels: { team: "net" } };
  const buf = writer.encode(FLOW_RECORD, flow);
  assert.equal(readFrame(buf).schemaId, 1001);
  // A v1-only reader does not know id 1001: it must say so rather than guess.
  assert.equal(
    reasonOf(() => reader.decode(buf, FLOW_RECORD)),
    "unknown_schema_id",
  );
  // A reader that knows both versions but reads as v1 resolves v2 -> v1.
  const v1Reader = new AvroCodec(withV2(), { [FLOW_RECORD]: 1 });
  const { value } = v1Reader.decode<Record<string, unknown>>(buf, FLOW_RECORD);
  assert.equal(value.Tenant, undefined);
  assert.equal(value.Labels, undefined);
  assert.equal(value.UUID, flow.UUID);
  assert.deepEqual(plain(value.Metric), plain(flow.Metric));
});

test("v2 reader reads v1 records: added fields take their defaults", () => {
  const v1Writer = new AvroCodec(v1Only());
  const v2Reader = new AvroCodec(withV2());
  const flow = syntheticFlow(9, NOW);
  const buf = v1Writer.encode(FLOW_RECORD, flow);
  assert.equal(readFrame(buf).schemaId, 1);
  const { value } = v2Reader.decode<Record<string, unknown>>(buf, FLOW_RECORD);
  assert.equal(value.Tenant, "");
  assert.equal(value.Labels, null);
  assert.equal(value.TrackingID, flow.TrackingID);
});

test("poison messages fail with a reason, never a crash", () => {
  const codec = new AvroCodec();
  const good = codec.encode(FLOW_RECORD, syntheticFlow(1, NOW));
  assert.equal(
    reasonOf(() => codec.decode(Buffer.alloc(0), FLOW_RECORD)),
    "empty",
  );
  assert.equal(
    reasonOf(() => codec.decode(Buffer.from('{"json":true}'), FLOW_RECORD)),
    "bad_magic",
  );
  assert.equal(
    reasonOf(() => codec.decode(Buffer.from([0, 0, 0]), FLOW_RECORD)),
    "bad_magic",
  );
  const unknown = Buffer.from(good);
  unknown.writeUInt32BE(999, 1);
  assert.equal(
    reasonOf(() => codec.decode(unknown, FLOW_RECORD)),
    "unknown_schema_id",
  );
  assert.equal(
    reasonOf(() => codec.decode(good.subarray(0, good.length - 20), FLOW_RECORD)),
    "truncated",
  );
  assert.equal(
    reasonOf(() => codec.decode(Buffer.concat([good, Buffer.from([1, 2])]), FLOW_RECORD)),
    "trailing_bytes",
  );
  const topo = codec.encode(TOPOLOGY_DELTA, { Op: "HEARTBEAT", Origin: "o", Host: "h", Time: NOW, Sequence: 1 });
  assert.equal(
    reasonOf(() => codec.decode(topo, FLOW_RECORD)),
    "wrong_record",
  );
  // Random bodies behind a valid header: every one either decodes whole or fails with a reason.
  let rejected = 0;
  for (let i = 0; i < 2000; i++) {
    const body = Buffer.from(Array.from({ length: 1 + (i % 300) }, (_, j) => (i * 131 + j * 17) & 255));
    const msg = Buffer.concat([Buffer.from([0, 0, 0, 0, 1]), body]);
    try {
      codec.decode(msg, FLOW_RECORD);
    } catch (err) {
      assert.ok(err instanceof DecodeError);
      rejected++;
    }
  }
  assert.ok(rejected > 1900, `only ${rejected} of 2000 random bodies rejected`);
});

test("an object container built from framed bodies reads back every record", async () => {
  const codec = new AvroCodec();
  const flows = Array.from({ length: 100 }, (_, i) => syntheticFlow(i, NOW));
  const bodies = flows.map((f) => codec.encode(FLOW_RECORD, f).subarray(5));
  const file = buildContainer(codec.writerFor(FLOW_RECORD).schema, bodies);
  const decoded: FlowRecord[] = [];
  await new Promise<void>((resolve, reject) => {
    const dec = new avro.streams.BlockDecoder({ parseHook: (s) => avro.Type.forSchema(s, { wrapUnions: false }) });
    dec
      .on("data", (r: FlowRecord) => decoded.push(r))
      .on("end", resolve)
      .on("error", reject);
    dec.end(file);
  });
  assert.equal(decoded.length, 100);
  assert.equal(decoded[57]?.UUID, flows[57]?.UUID);
});

test("Avro longs are zig-zag varints", () => {
  assert.deepEqual([...encodeLong(0)], [0]);
  assert.deepEqual([...encodeLong(-1)], [1]);
  assert.deepEqual([...encodeLong(1)], [2]);
  assert.deepEqual([...encodeLong(64)], [0x80, 0x01]);
  assert.deepEqual([...encodeLong(2 ** 40)], [...avro.Type.forSchema("long").toBuffer(2 ** 40)]);
});

test("generated TypeScript types match the .avsc files", () => {
  const current = readFileSync(new URL("./types.generated.ts", import.meta.url), "utf8");
  assert.equal(current, renderTypes(), "types.generated.ts is stale: run `npm run gen:types`");
});
