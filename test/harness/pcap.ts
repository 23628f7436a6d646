// Reads classic pcap files (Ethernet, optional 802.1Q, IPv4/IPv6, UDP) and returns the UDP payloads,
// for tests that feed captured datagrams to decoders.
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";

export interface UdpPayload {
  frame: number;
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
}

export function udpPayloads(path: string): UdpPayload[] {
  let buf = readFileSync(path);
  if (path.endsWith(".gz")) buf = gunzipSync(buf);
  const magic = buf.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const linktype = u32(20);
  const out: UdpPayload[] = [];
  let off = 24;
  let frame = 0;
  while (off + 16 <= buf.length) {
    const incl = u32(off + 8);
    const data = buf.subarray(off + 16, off + 16 + incl);
    off += 16 + incl;
    frame++;
    let p = 0;
    let etherType: number;
    if (linktype === 1) {
      etherType = data.readUInt16BE(12);
      p = 14;
      while (etherType === 0x8100 || etherType === 0x88a8) {
        etherType = data.readUInt16BE(p + 2);
        p += 4;
      }
    } else if (linktype === 113) {
      etherType = data.readUInt16BE(14);
      p = 16;
    } else continue;
    let proto: number;
    if (etherType === 0x0800) {
      proto = data[p + 9]!;
      p += (data[p]! & 0x0f) * 4;
    } else if (etherType === 0x86dd) {
      proto = data[p + 6]!;
      p += 40;
    } else continue;
    if (proto !== 17 || p + 8 > data.length) continue;
    const len = data.readUInt16BE(p + 4);
    out.push({ frame, srcPort: data.readUInt16BE(p), dstPort: data.readUInt16BE(p + 2), payload: data.subarray(p + 8, Math.min(data.length, p + len)) });
  }
  return out;
}
