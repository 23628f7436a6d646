// Skydive's flow ids, from the flow's canonical key strings (built by the flow table):
//   TrackingID   = xxHash64 of the L2+ key bytes (L3+ in L3 mode): the same at every capture point of a conversation;
//   L3TrackingID = xxHash64 of the L3+ key bytes only: survives MAC rewrites along a routed path;
//   UUID         = xxHash64, seeded with the table key's hash (key + outer flow's UUID), of big-endian Start (ms)
//                  + NodeTID: unique per capture point and per occurrence of the conversation.
// Hashes are computed when a flow is emitted, never per packet.
import xxhash from "xxhash-wasm";

type XXHash = Awaited<ReturnType<typeof xxhash>>;
let hasher: XXHash | undefined;

/** Loads the xxHash WebAssembly module once; every FlowTable needs it before its first emission. */
export async function loadFlowHasher(): Promise<void> {
  hasher ??= await xxhash();
}

const encoder = new TextEncoder();
const hex = (v: bigint) => v.toString(16).padStart(16, "0");

function h(): XXHash {
  if (!hasher) throw new Error("flow ids: call loadFlowHasher() first");
  return hasher;
}

/** TrackingID / L3TrackingID: the hash of the key bytes. */
export function trackingId(key: Uint8Array): string {
  return hex(h().h64Raw(key));
}

/**
 * UUID: seeded with the table key's hash (the key, plus the outer flow's UUID for an encapsulated flow), as
 * a 64-bit value (the table keeps it in two 32-bit halves; `hex64` prints it).
 */
export function flowUuidValue(key: Uint8Array, parentUuid: string, startMs: number, nodeTID: string): bigint {
  const x = h();
  const tid = encoder.encode(nodeTID);
  const data = new Uint8Array(8 + tid.length);
  new DataView(data.buffer).setBigInt64(0, BigInt(Math.floor(startMs)));
  data.set(tid, 8);
  const seed = x.h64Raw(key, parentUuid ? BigInt(`0x${parentUuid}`) : 0n);
  return x.h64Raw(data, seed);
}

/** 16 hex digits of a 64-bit value given as two 32-bit halves. */
export const hex64 = (high: number, low: number) => high.toString(16).padStart(8, "0") + low.toString(16).padStart(8, "0");
