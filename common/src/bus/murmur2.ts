// Kafka's default partitioner hash (murmur2, seed 0x9747b28c), in 32-bit integer arithmetic, so a key
// lands in the partition the Java client and librdkafka's murmur2_random pick.
const SEED = 0x9747b28c;
const M = 0x5bd1e995;

export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const rest = length & 3;
  const base = length & ~3;
  if (rest === 3) h ^= data[base + 2]! << 16;
  if (rest >= 2) h ^= data[base + 1]! << 8;
  if (rest >= 1) {
    h ^= data[base]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition of a key among `partitions`, as Kafka's default partitioner computes it. */
export function partitionOf(key: Uint8Array | string, partitions: number): number {
  const bytes = typeof key === "string" ? Buffer.from(key) : key;
  return (murmur2(bytes) & 0x7fffffff) % partitions;
}
