// Fuzz: real datagrams mutated (bit flips, byte overwrites, truncation, splices) and random bytes go
// through the sFlow decoder and the packet decoder. Every input either decodes or fails with a
// SflowDecodeError; the packet decoder never throws. SKYSTREAM_LONG_TESTS=1 runs a million inputs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { udpPayloads } from "../../../../../test/harness/pcap.ts";
import { decodeEthernet, decodeIp } from "../../../flow/packet.js";
import { seededRandom } from "../../../flow/testing/random.js";
import { SflowDecodeError, decodeSflow } from "./decode.js";

const DIR = fileURLToPath(new URL("../../../../../../shared/testdata/sflow/", import.meta.url));
const INPUTS = process.env.SKYSTREAM_LONG_TESTS === "1" ? 1_000_000 : 50_000;

test(`sFlow and packet decoders survive ${INPUTS.toLocaleString("en-US")} mutated and random inputs`, { timeout: 600_000 }, () => {
  const corpus = readdirSync(DIR)
    .filter((f) => f.endsWith(".pcap"))
    .flatMap((f) => udpPayloads(DIR + f).map((u) => Buffer.from(u.payload)))
    .filter((b) => b.length > 0);
  assert.ok(corpus.length > 1000);
  const rand = seededRandom(20261123);
  const counts = { decoded: 0, rejected: 0, headers: 0 };
  for (let i = 0; i < INPUTS; i++) {
    const base = corpus[Math.floor(rand() * corpus.length)]!;
    let input: Buffer;
    const mode = i % 5;
    if (mode === 0) {
      input = Buffer.from(base);
      for (let k = 0, n = 1 + Math.floor(rand() * 8); k < n; k++) input[Math.floor(rand() * input.length)]! ^= 1 << Math.floor(rand() * 8);
    } else if (mode === 1) {
      input = Buffer.from(base);
      for (let k = 0, n = 1 + Math.floor(rand() * 4); k < n; k++)
        input.writeUInt32BE(Math.floor(rand() * 2 ** 32), Math.floor(rand() * Math.max(1, input.length - 4)) & ~3);
    } else if (mode === 2) {
      input = base.subarray(0, Math.floor(rand() * base.length));
    } else if (mode === 3) {
      const other = corpus[Math.floor(rand() * corpus.length)]!;
      const cut = Math.floor(rand() * base.length) & ~3;
      input = Buffer.concat([base.subarray(0, cut), other.subarray(Math.floor(rand() * other.length) & ~3)]);
    } else {
      input = Buffer.alloc(Math.floor(rand() * 600));
      for (let k = 0; k < input.length; k++) input[k] = Math.floor(rand() * 256);
      if (input.length >= 4 && rand() < 0.7) input.writeUInt32BE(5, 0);
    }
    try {
      const d = decodeSflow(input);
      counts.decoded++;
      for (const s of d.samples) {
        if (s.kind !== "flow" && s.kind !== "discard") continue;
        for (const r of s.records) {
          if (r.tag === "0:1" && r.data) {
            const header = r.data.header as Uint8Array;
            if (r.data.headerProtocol === 1) decodeEthernet(header);
            else decodeIp(header);
            counts.headers++;
          }
        }
      }
    } catch (err) {
      if (!(err instanceof SflowDecodeError)) assert.fail(`input ${i} (mode ${mode}) threw ${String(err)}: ${input.toString("hex").slice(0, 200)}`);
      counts.rejected++;
    }
  }
  assert.equal(counts.decoded + counts.rejected, INPUTS);
  assert.ok(counts.decoded > 0 && counts.rejected > 0 && counts.headers > 0, JSON.stringify(counts));
});
