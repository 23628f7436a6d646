// Avro object container files built from already-encoded record bodies, without decoding them:
// the bodies of framed messages are concatenated into one block, and ClickHouse parses the file.
import { randomBytes } from "node:crypto";
import type avro from "avsc";

const MAGIC = Buffer.from([0x4f, 0x62, 0x6a, 0x01]); // "Obj" 1

/** Avro long: zig-zag then base-128 varint. Safe for |n| < 2^52. */
export function encodeLong(n: number): Buffer {
  const out: number[] = [];
  let v = n >= 0 ? n * 2 : -n * 2 - 1;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Buffer.from(out);
}

function encodeBytes(b: Buffer): Buffer {
  return Buffer.concat([encodeLong(b.length), b]);
}

/** The container header: magic, metadata map {avro.schema, avro.codec}, sync marker. */
export function containerHeader(schema: avro.Schema, sync: Buffer): Buffer {
  const meta: [string, Buffer][] = [
    ["avro.schema", Buffer.from(JSON.stringify(schema))],
    ["avro.codec", Buffer.from("null")],
  ];
  const parts: Buffer[] = [MAGIC, encodeLong(meta.length)];
  for (const [k, v] of meta) parts.push(encodeBytes(Buffer.from(k)), encodeBytes(v));
  parts.push(encodeLong(0), sync);
  return Buffer.concat(parts);
}

/** One container with a single block holding `bodies` (each the Avro binary of one record). */
export function buildContainer(schema: avro.Schema, bodies: readonly Uint8Array[]): Buffer {
  const sync = randomBytes(16);
  let size = 0;
  for (const b of bodies) size += b.length;
  return Buffer.concat([containerHeader(schema, sync), encodeLong(bodies.length), encodeLong(size), ...bodies, sync]);
}
