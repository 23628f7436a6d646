// Records a flows topic must never take: one or more per reason the pipeline dead-letters with (not
// Avro, truncated, unknown schema id, empty, another record type, a flow without UUID, a flow that ends
// before it starts). For the dead-letter test and the Prometheus panels' test.
import { FLOW_RECORD, TOPOLOGY_DELTA, type AvroCodec } from "@skystream/schemas";
import { syntheticFlow } from "@skystream/schemas/testing/flows";

export function poisonRecords(codec: AvroCodec, now: number, host: string): { reason: string; value: Buffer }[] {
  const good = codec.encode(FLOW_RECORD, syntheticFlow(99_999, now, host));
  const unknownId = Buffer.from(good);
  unknownId.writeUInt32BE(4242, 1);
  return [
    { reason: "bad_magic", value: Buffer.from("random bytes that are not Avro at all") },
    { reason: "bad_magic", value: Buffer.from(JSON.stringify({ UUID: "json-not-avro" })) },
    { reason: "truncated", value: good.subarray(0, 40) },
    { reason: "unknown_schema_id", value: unknownId },
    { reason: "empty", value: Buffer.alloc(0) },
    { reason: "wrong_record", value: codec.encode(TOPOLOGY_DELTA, { Op: "HEARTBEAT", Origin: "agent.x", Host: "x", Time: now, Sequence: 1 }) },
    { reason: "missing_uuid", value: codec.encode(FLOW_RECORD, { ...syntheticFlow(5, now, host), UUID: "" }) },
    { reason: "bad_time", value: codec.encode(FLOW_RECORD, { ...syntheticFlow(6, now, host), Start: now, Last: now - 1000 }) },
  ];
}
