// The packet decoder against two oracles: tshark on Skydive's test pcaps, and InMon's sflowtool on the
// sampled headers of every sFlow test capture (outer addresses, protocol and ports).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { udpPayloads } from "../../../test/harness/pcap.ts";
import { decodeSflow } from "../probes/flow/sflow/decode.js";
import { decodeEthernet, layersPath, type Packet } from "./packet.js";

const SHARED = fileURLToPath(new URL("../../../../shared/testdata/", import.meta.url));

/** Every frame of a pcap, raw. */
function frames(path: string): Uint8Array[] {
  const buf = readFileSync(path);
  const out: Uint8Array[] = [];
  for (let off = 24; off + 16 <= buf.length;) {
    const incl = buf.readUInt32LE(off + 8);
    out.push(buf.subarray(off + 16, off + 16 + incl));
    off += 16 + incl;
  }
  return out;
}

const expand6 = (a: string) => {
  const [head, tail] = a.split("::");
  const h = head ? head.split(":") : [];
  const t = tail !== undefined && tail ? tail.split(":") : [];
  const mid = tail === undefined ? [] : Array(8 - h.length - t.length).fill("0");
  return [...h, ...mid, ...t].map((g) => g.padStart(4, "0")).join(":");
};

for (const file of ["eth-ip4-arp-dns-req-http-google.pcap", "lldp-detailed.pcap"]) {
  test(`tshark agrees on every frame of ${file}`, () => {
    const fields = ["eth.src", "eth.dst", "ip.src", "ip.dst", "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport", "arp.opcode", "icmp.type"];
    const out = execFileSync("tshark", ["-r", SHARED + "pcap/" + file, "-T", "fields", ...fields.flatMap((f) => ["-e", f])], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
    const rows = out
      .replace(/\n$/, "")
      .split("\n")
      .map((l) => l.split("\t"));
    const packets = frames(SHARED + "pcap/" + file).map((f) => decodeEthernet(f));
    assert.equal(packets.length, rows.length);
    for (const [i, p] of packets.entries()) {
      const [esrc, edst, isrc, idst, tsp, tdp, usp, udp, arp, icmp] = fields.map((_, k) => (rows[i]![k] ?? "").split(",")[0]!);
      const w = `${file} frame ${i + 1}`;
      assert.equal(p.ethernet?.src, esrc, `${w}: eth.src`);
      assert.equal(p.ethernet?.dst, edst, `${w}: eth.dst`);
      assert.equal(p.ip?.src ?? "", isrc, `${w}: ip.src`);
      assert.equal(p.ip?.dst ?? "", idst, `${w}: ip.dst`);
      const ports = p.transport ? [String(p.transport.srcPort), String(p.transport.dstPort)] : ["", ""];
      assert.deepEqual(ports, tsp || tdp ? [tsp, tdp] : usp || udp ? [usp, udp] : ["", ""], `${w}: ports`);
      assert.equal(p.layers.includes("ARP"), arp !== "", `${w}: ARP`);
      assert.equal(p.icmp ? String(p.icmp.type) : "", icmp, `${w}: ICMP type`);
      assert.equal(p.truncated, false, `${w}: whole frame`);
    }
  });
}

test("Skydive's capture decodes to its layer paths", () => {
  const paths = frames(SHARED + "pcap/eth-ip4-arp-dns-req-http-google.pcap").map((f) => layersPath(decodeEthernet(f)));
  assert.deepEqual([...new Set(paths)].sort(), ["Ethernet/ARP", "Ethernet/IPv4/TCP", "Ethernet/IPv4/UDP"]);
});

test("sflowtool agrees on the outer headers sampled in every sFlow capture", () => {
  let compared = 0;
  const dir = SHARED + "sflow/";
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".pcap"))) {
    const text = readFileSync(dir + file.replace(/\.pcap$/, ".sflowtool.txt"), "utf8");
    // sflowtool prints, per sampled header, the decoded addresses; collect them in order.
    const expected: Record<string, string>[] = [];
    let cur: Record<string, string> | undefined;
    for (const line of text.split("\n")) {
      const [k, ...rest] = line.split(" ");
      const v = rest.join(" ").trim();
      if (k === "headerProtocol") expected.push((cur = { headerProtocol: v }));
      else if (k === "flowBlock_tag" || k === "endSample" || k === "discarded_flowBlock_tag") cur = undefined;
      else if (cur && !(k! in cur)) cur[k!] = v;
    }
    const got: Packet[] = [];
    for (const u of udpPayloads(dir + file)) {
      let d;
      try {
        d = decodeSflow(u.payload);
      } catch {
        continue;
      }
      for (const s of d.samples)
        for (const r of s.records) if (r.tag === "0:1" && r.data && r.data.headerProtocol === 1) got.push(decodeEthernet(r.data.header as Uint8Array));
    }
    const ethernetOnly = expected.filter((e) => e.headerProtocol === "1");
    for (const [i, p] of got.entries()) {
      const e = ethernetOnly[i];
      if (!e) break;
      const w = `${file} header ${i}`;
      if (e.srcIP) {
        assert.equal(p.ip?.src, e.srcIP, `${w}: srcIP`);
        assert.equal(p.ip?.dst, e.dstIP, `${w}: dstIP`);
        assert.equal(String(p.ip?.protocol), e.IPProtocol, `${w}: protocol`);
      }
      if (e.srcIP6) {
        assert.equal(expand6(p.ip!.src), e.srcIP6, `${w}: srcIP6`);
        assert.equal(expand6(p.ip!.dst), e.dstIP6, `${w}: dstIP6`);
      }
      const sp = e.TCPSrcPort ?? e.UDPSrcPort;
      if (sp !== undefined) assert.equal(String(p.transport?.srcPort), sp, `${w}: src port`);
      const dp = e.TCPDstPort ?? e.UDPDstPort;
      if (dp !== undefined) assert.equal(String(p.transport?.dstPort), dp, `${w}: dst port`);
      if (e.ICMPType !== undefined) assert.equal(String(p.icmp?.type), e.ICMPType, `${w}: ICMP type`);
      compared++;
    }
  }
  assert.ok(compared > 5000, `compared ${compared} sampled headers`);
});

test("VXLAN is split into outer and inner packets with the VNI", () => {
  const dir = SHARED + "sflow/";
  const [u] = udpPayloads(dir + "akvorado__data-encap-vxlan.pcap");
  const d = decodeSflow(u!.payload);
  const header = d.samples.flatMap((s) => s.records).find((r) => r.tag === "0:1")!.data!.header as Uint8Array;
  const p = decodeEthernet(header);
  assert.equal(p.layers.at(-1), "VXLAN");
  assert.ok(p.tunnelId !== undefined && p.inner?.ip, `VNI ${p.tunnelId}, inner ${p.inner?.ip?.src} -> ${p.inner?.ip?.dst}`);
  assert.match(layersPath(p), /^Ethernet\/IPv4\/UDP\/VXLAN\/Ethernet\/IPv(4|6)/);
});

test("truncated frames decode as far as their bytes go", () => {
  const f = frames(SHARED + "pcap/eth-ip4-arp-dns-req-http-google.pcap")[6]!;
  for (let n = 0; n < f.length; n++) {
    const p = decodeEthernet(f.subarray(0, n));
    assert.ok(p.layers[0] === "Ethernet");
    if (n < 14 + 20 + 14) assert.equal(p.truncated, true, `${n} bytes`);
  }
});
