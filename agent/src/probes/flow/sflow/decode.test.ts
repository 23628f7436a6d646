// The sFlow decoder against every capture in ../shared/testdata/sflow, with InMon's sflowtool decode of
// the same datagrams as the oracle: datagram headers, every sample's header and ports, the record tags
// of each sample, sampled-header sizes and generic interface counters.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { udpPayloads } from "../../../../../test/harness/pcap.ts";
import { SflowDecodeError, decodeSflow, type SflowPort, type SflowSample } from "./decode.js";

const DIR = fileURLToPath(new URL("../../../../../../shared/testdata/sflow/", import.meta.url));

interface ToolDatagram {
  fields: Map<string, string>;
  samples: { fields: Map<string, string>; tags: string[]; lines: [string, string][] }[];
  failed: boolean;
}

/** sflowtool's text output, one entry per datagram it was given. */
function parseSflowtool(text: string): ToolDatagram[] {
  const out: ToolDatagram[] = [];
  let d: ToolDatagram | undefined;
  let s: ToolDatagram["samples"][number] | undefined;
  for (const line of text.split("\n")) {
    const i = line.indexOf(" ");
    const key = i < 0 ? line : line.slice(0, i);
    const value = i < 0 ? "" : line.slice(i + 1).trim();
    if (key === "startDatagram") out.push((d = { fields: new Map(), samples: [], failed: false }));
    else if (!d) continue;
    else if (key === "startSample") d.samples.push((s = { fields: new Map(), tags: [], lines: [] }));
    else if (key === "endSample") s = undefined;
    else if (key === "caught" || line.startsWith("caught exception")) d.failed = true;
    else if (s) {
      if (key === "flowBlock_tag" || key === "counterBlock_tag" || key === "discarded_flowBlock_tag") s.tags.push(value);
      s.lines.push([key, value]);
      if (!s.fields.has(key)) s.fields.set(key, value);
    } else d.fields.set(key, value);
  }
  return out;
}

function portText(p: SflowPort): string {
  if (p.format === 2) return `multiple ${p.value}`;
  if (p.format === 1) return `dropCode ${p.value}`;
  return String(p.value);
}

const captures = existsSync(DIR) ? readdirSync(DIR).filter((f) => f.endsWith(".pcap")) : [];

test("the sFlow test captures are there", () => {
  assert.ok(captures.length >= 30, `expected the captures of ../shared/testdata/sflow, found ${captures.length}`);
});

for (const file of captures) {
  test(`sflowtool agrees: ${file}`, () => {
    const tool = parseSflowtool(readFileSync(DIR + file.replace(/\.pcap$/, ".sflowtool.txt"), "utf8"));
    const datagrams = udpPayloads(DIR + file).filter((u) => u.dstPort === 6343 || u.srcPort === 6343);
    assert.equal(datagrams.length, tool.length, "one sflowtool decode per datagram");
    let compared = 0;
    let rejected = 0;
    for (const [k, u] of datagrams.entries()) {
      const t = tool[k]!;
      let d: ReturnType<typeof decodeSflow>;
      try {
        d = decodeSflow(u.payload);
      } catch (err) {
        assert.ok(err instanceof SflowDecodeError, `frame ${u.frame}: ${String(err)}`);
        const toolVersion = t.fields.get("datagramVersion");
        assert.ok(t.failed || toolVersion !== "5", `frame ${u.frame}: we rejected (${(err as Error).message}) what sflowtool decoded`);
        rejected++;
        continue;
      }
      if (t.failed) {
        // sflowtool gave up on this datagram; we decoded it: its samples up to the failure must still agree.
      }
      const where = `${file} frame ${u.frame}`;
      assert.equal(d.agent, t.fields.get("agent"), `${where}: agent`);
      assert.equal(String(d.subAgentId), t.fields.get("agentSubId"), `${where}: agentSubId`);
      assert.equal(String(d.sequence), t.fields.get("packetSequenceNo"), `${where}: packetSequenceNo`);
      assert.equal(String(d.uptime), t.fields.get("sysUpTime"), `${where}: sysUpTime`);
      assert.equal(String(d.samples.length), t.fields.get("samplesInPacket"), `${where}: samplesInPacket`);
      const toolSamples = t.failed ? t.samples.slice(0, -1) : t.samples;
      for (const [j, ts] of toolSamples.entries()) {
        const s: SflowSample = d.samples[j]!;
        const w = `${where} sample ${j}`;
        assert.equal(s.tag, ts.fields.get("sampleType_tag"), `${w}: tag`);
        if (s.kind === "unknown") continue;
        assert.equal(String(s.sequence), ts.fields.get("sampleSequenceNo"), `${w}: sequence`);
        assert.equal(`${s.sourceIdType}:${s.sourceIdIndex}`, ts.fields.get("sourceId"), `${w}: sourceId`);
        if (s.kind === "flow") {
          assert.equal(String(s.samplingRate), ts.fields.get("meanSkipCount"), `${w}: sampling rate`);
          assert.equal(String(s.samplePool), ts.fields.get("samplePool"), `${w}: sample pool`);
          assert.equal(String(s.drops), ts.fields.get("dropEvents"), `${w}: drops`);
          assert.equal(portText(s.input!), ts.fields.get("inputPort"), `${w}: input`);
          assert.equal(portText(s.output!), ts.fields.get("outputPort"), `${w}: output`);
        }
        if (s.kind === "discard") {
          assert.equal(String(s.drops), ts.fields.get("dropEvents"), `${w}: drops`);
          assert.equal(portText(s.input!), ts.fields.get("inputPort"), `${w}: input`);
          assert.equal(portText(s.output!), ts.fields.get("outputPort"), `${w}: output`);
          assert.equal(String(s.reason), ts.fields.get("discardCode"), `${w}: discard code`);
        }
        assert.deepEqual(
          s.records.map((r) => r.tag),
          ts.tags,
          `${w}: record tags`,
        );
        for (const r of s.records) {
          if (s.kind === "flow" && r.tag === "0:1" && r.data) {
            assert.equal(String(r.data.frameLength), ts.fields.get("sampledPacketSize"), `${w}: sampledPacketSize`);
            assert.equal(String(r.data.headerLength), ts.fields.get("headerLen"), `${w}: headerLen`);
          }
          if (s.kind === "counters" && r.tag === "0:1" && r.data) {
            for (const k of ["ifIndex", "ifSpeed", "ifInOctets", "ifOutOctets", "ifInUcastPkts", "ifOutErrors"]) {
              assert.equal(String(r.data[k]), ts.fields.get(k), `${w}: ${k}`);
            }
          }
        }
      }
      compared++;
    }
    assert.ok(compared + rejected === datagrams.length);
  });
}

test("truncations of real datagrams are rejected with a reason, never a crash", () => {
  const real = udpPayloads(DIR + "akvorado__data-sflow-ipv4-data.pcap")[0]!.payload;
  for (let n = 0; n < real.length; n++) {
    try {
      decodeSflow(real.subarray(0, n));
    } catch (err) {
      assert.ok(err instanceof SflowDecodeError, `at ${n} bytes: ${String(err)}`);
    }
  }
});
