// Flow record codec: avsc (with Confluent framing) against JSON.stringify / JSON.parse of the same records.
import { AvroCodec, FLOW_RECORD, type FlowRecord } from "@skystream/schemas";
import { syntheticFlow } from "@skystream/schemas/testing/flows";

export interface CodecResult {
  records: number;
  avroBytes: number;
  jsonBytes: number;
  encodeAvro: number;
  encodeJson: number;
  decodeAvro: number;
  decodeJson: number;
}

function rate(n: number, fn: () => void): number {
  const t0 = performance.now();
  fn();
  return n / ((performance.now() - t0) / 1000);
}

/** Best of `rounds` runs of each, alternating, so JIT warm-up and GC hit both sides alike. */
export function benchCodec(records = 200_000, rounds = 3): CodecResult {
  const codec = new AvroCodec();
  const now = Date.now();
  const flows: FlowRecord[] = Array.from({ length: records }, (_, i) => syntheticFlow(i, now));
  let avro: Buffer[] = [];
  let json: string[] = [];
  const r = { encodeAvro: 0, encodeJson: 0, decodeAvro: 0, decodeJson: 0 };
  for (let round = 0; round < rounds; round++) {
    r.encodeAvro = Math.max(
      r.encodeAvro,
      rate(records, () => (avro = flows.map((f) => codec.encode(FLOW_RECORD, f)))),
    );
    r.encodeJson = Math.max(
      r.encodeJson,
      rate(records, () => (json = flows.map((f) => JSON.stringify(f)))),
    );
    r.decodeAvro = Math.max(
      r.decodeAvro,
      rate(records, () => avro.forEach((b) => codec.decode(b, FLOW_RECORD))),
    );
    r.decodeJson = Math.max(
      r.decodeJson,
      rate(records, () => json.forEach((s) => JSON.parse(s))),
    );
  }
  return {
    records,
    avroBytes: avro.reduce((s, b) => s + b.length, 0) / records,
    jsonBytes: json.reduce((s, b) => s + Buffer.byteLength(b), 0) / records,
    ...r,
  };
}
