// Builds frames of known content for tests and benchmarks: Ethernet (+VLANs), IPv4/IPv6, TCP/UDP/ICMP,
// VXLAN around an inner frame; and writes them as a classic pcap file.
import { writeFileSync } from "node:fs";

export interface FrameSpec {
  srcMac?: string;
  dstMac?: string;
  vlans?: number[];
  src: string;
  dst: string;
  proto: "tcp" | "udp" | "icmp";
  srcPort?: number;
  dstPort?: number;
  /** TCP flags byte (FIN 1, SYN 2, RST 4, PSH 8, ACK 16). */
  flags?: number;
  /** ICMP type (8 echo request, 0 reply; 128/129 for IPv6), id. */
  icmpType?: number;
  icmpId?: number;
  ttl?: number;
  /** Payload: a size (filled with "a") or the bytes. */
  payload?: number | Uint8Array;
  /** VXLAN: this frame is carried inside an outer UDP/4789 packet. */
  vxlan?: { vni: number; outer: Omit<FrameSpec, "proto" | "vxlan"> };
}

const macBytes = (m: string) => m.split(":").map((x) => parseInt(x, 16));

function ipBytes(a: string): number[] {
  if (!a.includes(":")) return a.split(".").map(Number);
  const [head, tail] = a.split("::") as [string, string | undefined];
  const h = head ? head.split(":") : [];
  const t = tail !== undefined && tail ? tail.split(":") : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill("0"), ...t].map((g) => parseInt(g, 16));
  return groups.flatMap((g) => [g >> 8, g & 255]);
}

function sum16(bytes: number[]): number {
  let s = 0;
  for (let i = 0; i < bytes.length; i += 2) s += (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >> 16);
  return ~s & 0xffff;
}

function l4(spec: FrameSpec, v6: boolean): number[] {
  const payload = typeof spec.payload === "number" || spec.payload === undefined ? Array(spec.payload ?? 0).fill(0x61) : [...spec.payload];
  if (spec.proto === "tcp") {
    const sp = spec.srcPort ?? 40000;
    const dp = spec.dstPort ?? 80;
    return [sp >> 8, sp & 255, dp >> 8, dp & 255, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, spec.flags ?? 0x18, 0xff, 0xff, 0, 0, 0, 0, ...payload];
  }
  if (spec.proto === "udp") {
    const sp = spec.srcPort ?? 40000;
    const dp = spec.dstPort ?? 53;
    const len = 8 + payload.length;
    return [sp >> 8, sp & 255, dp >> 8, dp & 255, len >> 8, len & 255, 0, 0, ...payload];
  }
  const type = spec.icmpType ?? (v6 ? 128 : 8);
  const id = spec.icmpId ?? 1;
  const body = [type, 0, 0, 0, id >> 8, id & 255, 0, 1, ...payload];
  const c = sum16(body);
  body[2] = c >> 8;
  body[3] = c & 255;
  return body;
}

function ipPacket(spec: FrameSpec, transport: number[]): number[] {
  const v6 = spec.src.includes(":");
  const proto = spec.proto === "tcp" ? 6 : spec.proto === "udp" ? 17 : v6 ? 58 : 1;
  // TCP and UDP checksums over the pseudo-header (receivers drop IPv6 UDP without one); ICMPv4's has none.
  if (proto !== 1) {
    const len = transport.length;
    const at = proto === 6 ? 16 : proto === 17 ? 6 : 2;
    transport[at] = transport[at + 1] = 0;
    const c = sum16([...ipBytes(spec.src), ...ipBytes(spec.dst), 0, proto, len >> 8, len & 255, ...transport]) || 0xffff;
    transport[at] = c >> 8;
    transport[at + 1] = c & 255;
  }
  if (v6) {
    const len = transport.length;
    return [0x60, 0, 0, 0, len >> 8, len & 255, proto, spec.ttl ?? 64, ...ipBytes(spec.src), ...ipBytes(spec.dst), ...transport];
  }
  const total = 20 + transport.length;
  const h = [0x45, 0, total >> 8, total & 255, 0, 1, 0x40, 0, spec.ttl ?? 64, proto, 0, 0, ...ipBytes(spec.src), ...ipBytes(spec.dst)];
  const c = sum16(h);
  h[10] = c >> 8;
  h[11] = c & 255;
  return [...h, ...transport];
}

function ethernet(spec: Pick<FrameSpec, "srcMac" | "dstMac" | "vlans" | "src">, inner: number[]): number[] {
  const type = spec.src.includes(":") ? 0x86dd : 0x0800;
  const tags = (spec.vlans ?? []).flatMap((v) => [0x81, 0x00, v >> 8, v & 255]);
  return [...macBytes(spec.dstMac ?? "02:00:00:00:00:02"), ...macBytes(spec.srcMac ?? "02:00:00:00:00:01"), ...tags, type >> 8, type & 255, ...inner];
}

/** One Ethernet frame. */
export function frame(spec: FrameSpec): Buffer {
  const inner = ethernet(spec, ipPacket(spec, l4(spec, spec.src.includes(":"))));
  if (!spec.vxlan) return Buffer.from(inner);
  const { vni, outer } = spec.vxlan;
  const vx = [0x08, 0, 0, 0, (vni >> 16) & 255, (vni >> 8) & 255, vni & 255, 0, ...inner];
  const sp = outer.srcPort ?? 50000;
  const udp = [sp >> 8, sp & 255, 0x12, 0xb5, (8 + vx.length) >> 8, (8 + vx.length) & 255, 0, 0, ...vx];
  return Buffer.from(ethernet(outer, ipPacket({ ...outer, proto: "udp" }, udp)));
}

export interface TimedFrame {
  /** ms since the epoch (fractions to µs). */
  time: number;
  data: Buffer;
}

/** Writes a classic pcap (Ethernet, µs timestamps). */
export function writePcap(path: string, frames: Iterable<TimedFrame>): void {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(262144, 16);
  head.writeUInt32LE(1, 20);
  parts.push(head);
  for (const f of frames) {
    const rec = Buffer.alloc(16);
    const us = Math.round(f.time * 1000);
    rec.writeUInt32LE(Math.floor(us / 1e6), 0);
    rec.writeUInt32LE(us % 1e6, 4);
    rec.writeUInt32LE(f.data.length, 8);
    rec.writeUInt32LE(f.data.length, 12);
    parts.push(rec, f.data);
  }
  writeFileSync(path, Buffer.concat(parts));
}
