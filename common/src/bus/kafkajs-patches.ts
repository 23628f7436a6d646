// Two of kafkajs 2.2.4's producer internals, replaced in Node's CommonJS cache before kafkajs loads them
// (import this module before "kafkajs"). The project has had no release since 2023; both are pure
// functions, and the test checks ours against kafkajs's own output byte for byte.
// - Grouping a send's messages per partition copied the partition's array for every message
//   (`[...current, message]`): quadratic in the send, 14 % of the pipeline's CPU with 10k-record sends
//   (tulios/kafkajs#1576, open).
// - Encoding a record allocated a zero-filled 512-byte encoder per record and grew it by doubling: the
//   largest cost of producing after that. Ours sizes each record first and writes it into one buffer.
import { createRequire } from "node:module";

interface GroupArgs<M> {
  topic: string;
  partitionMetadata: unknown[];
  messages: M[];
  partitioner: (a: { topic: string; partitionMetadata: unknown[]; message: M }) => number;
}

/** Messages by partition, each partition's in send order; empty when the topic has no metadata. */
export function groupMessagesPerPartition<M>({ topic, partitionMetadata, messages, partitioner }: GroupArgs<M>): Record<number, M[]> {
  const out: Record<number, M[]> = {};
  if (partitionMetadata.length === 0) return out;
  for (const message of messages) (out[partitioner({ topic, partitionMetadata, message })] ??= []).push(message);
  return out;
}

type Bytes = Buffer | string | null | undefined;
export interface RecordArgs {
  offsetDelta?: number;
  timestampDelta?: number;
  key?: Bytes;
  value?: Bytes;
  headers?: Record<string, Bytes | Bytes[]>;
}

/** What kafkajs's encoders read from an encoded part: `buf` (to check it is one) and `buffer`. */
export interface EncodedRecord {
  buf: Buffer;
  readonly buffer: Buffer;
}

/** Zigzag (32- or 64-bit alike for safe integers): 0, -1, 1, -2… → 0, 1, 2, 3… */
const zigzag = (n: number) => (n >= 0 ? n * 2 : -n * 2 - 1);

function varintSize(n: number): number {
  let v = zigzag(n);
  let size = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    size++;
  }
  return size;
}

function writeVarint(buf: Buffer, at: number, n: number): number {
  let v = zigzag(n);
  while (v >= 128) {
    buf[at++] = (v % 128) | 128;
    v = Math.floor(v / 128);
  }
  buf[at++] = v;
  return at;
}

const byteLength = (b: Bytes) => (b == null ? -1 : typeof b === "string" ? Buffer.byteLength(b) : b.length);
const bytesSize = (b: Bytes) => {
  const n = byteLength(b);
  return n < 0 ? 1 : varintSize(n) + n;
};

function writeBytes(buf: Buffer, at: number, b: Bytes): number {
  if (b == null) return writeVarint(buf, at, -1);
  const n = byteLength(b);
  at = writeVarint(buf, at, n);
  if (typeof b === "string") buf.write(b, at, n, "utf8");
  else b.copy(buf, at);
  return at + n;
}

/**
 * A record of a v2 record batch: Length, Attributes (0), TimestampDelta, OffsetDelta, Key, Value, Headers
 * (varint-length key and value each; an array value is one header per element).
 */
export function encodeRecord({ offsetDelta = 0, timestampDelta = 0, key, value, headers = {} }: RecordArgs): EncodedRecord {
  const pairs: [string, Bytes][] = [];
  for (const k of Object.keys(headers)) {
    const v = headers[k];
    if (Array.isArray(v)) for (const one of v) pairs.push([k, one]);
    else pairs.push([k, v]);
  }
  let body = 1 + varintSize(timestampDelta) + varintSize(offsetDelta) + bytesSize(key) + bytesSize(value) + varintSize(pairs.length);
  for (const [k, v] of pairs) body += bytesSize(k) + bytesSize(v);
  const buf = Buffer.allocUnsafe(varintSize(body) + body);
  let at = writeVarint(buf, 0, body);
  buf[at++] = 0;
  at = writeVarint(buf, at, timestampDelta);
  at = writeVarint(buf, at, offsetDelta);
  at = writeBytes(buf, at, key);
  at = writeBytes(buf, at, value);
  at = writeVarint(buf, at, pairs.length);
  for (const [k, v] of pairs) at = writeBytes(buf, writeBytes(buf, at, k), v);
  return { buf, buffer: buf };
}

const require = createRequire(import.meta.url);
/** kafkajs's own implementations, for the byte-for-byte test. */
export const original: { groupMessagesPerPartition?: unknown; record?: (a: RecordArgs) => EncodedRecord } = {};
for (const [name, path, ours] of [
  ["groupMessagesPerPartition", "kafkajs/src/producer/groupMessagesPerPartition.js", groupMessagesPerPartition],
  ["record", "kafkajs/src/protocol/recordBatch/record/v0/index.js", encodeRecord],
] as const) {
  const resolved = require.resolve(path);
  const theirs: unknown = require(resolved);
  if (theirs !== ours) (original as Record<string, unknown>)[name] = theirs;
  require.cache[resolved]!.exports = ours;
}
