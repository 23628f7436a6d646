// Parses capture streams: classic pcap (µs or ns timestamps, either byte order) and pcapng (section header,
// interface description with if_tsresol, enhanced and simple packet blocks; other blocks skipped by length).
// Incremental: bytes are pushed as they come (a file read in chunks, a capture child's stdout); each
// packet's bytes are a view valid only during the callback.
import { closeSync, openSync, readSync } from "node:fs";

export interface FilePacket {
  /** Capture time in ms (fractions keep µs/ns). */
  time: number;
  /** Length on the wire. */
  length: number;
  linkType: number;
  data: Uint8Array;
}

export class PcapFormatError extends Error {}

const CHUNK = 4 << 20;

/** Calls `onPacket` for every packet of the file, in file order; returns the packet count. */
export function readCaptureFile(path: string, onPacket: (p: FilePacket) => void): number {
  const fd = openSync(path, "r");
  const parser = new CaptureParser(path, (data, start, end, length, time, linkType) => onPacket({ time, length, linkType, data: data.subarray(start, end) }));
  try {
    const chunk = Buffer.alloc(CHUNK);
    for (;;) {
      const n = readSync(fd, chunk, 0, CHUNK, null);
      if (n === 0) break;
      parser.push(chunk.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return parser.end();
}

/** A packet as the parser hands it over: bytes [start, end) of `data` (valid during the call only). */
export type OnFrame = (data: Buffer, start: number, end: number, length: number, time: number, linkType: number) => void;

/** Incremental pcap/pcapng parser. */
export class CaptureParser {
  private pending: Buffer = Buffer.alloc(0);
  private format: "pcap" | "pcapng" | undefined;
  private le = true;
  private fraction = 1e-3;
  private linkType = 0;
  private interfaces: Interface[] = [];
  count = 0;

  constructor(
    private readonly name: string,
    private readonly onFrame: OnFrame,
  ) {}

  push(chunk: Buffer): void {
    // Bytes left from the previous chunk are joined to this one; the chunk itself is parsed in place.
    let b = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    let o = 0;
    if (!this.format) {
      if (b.length < 24) return void (this.pending = Buffer.from(b));
      o = this.header(b);
    }
    o = this.format === "pcap" ? this.pcapRecords(b, o) : this.pcapngBlocks(b, o);
    b = b.subarray(o);
    // Copy the remainder: the caller may reuse its chunk buffer.
    this.pending = b.length > 0 ? Buffer.from(b) : Buffer.alloc(0);
  }

  /** Ends the stream; returns the packet count. A stream cut mid-packet keeps what came before. */
  end(): number {
    if (!this.format && this.pending.length > 0) this.header(this.pending);
    if (!this.format && this.count === 0 && this.pending.length === 0) throw new PcapFormatError(`${this.name}: empty capture`);
    return this.count;
  }

  private header(b: Buffer): number {
    if (b.length >= 4 && b.readUInt32LE(0) === 0x0a0d0d0a) {
      this.format = "pcapng";
      return 0;
    }
    if (b.length < 24) throw new PcapFormatError(`${this.name}: truncated pcap header`);
    const magic = b.readUInt32LE(0);
    const be = b.readUInt32BE(0);
    if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) [this.le, this.fraction] = [true, magic === 0xa1b23c4d ? 1e-6 : 1e-3];
    else if (be === 0xa1b2c3d4 || be === 0xa1b23c4d) [this.le, this.fraction] = [false, be === 0xa1b23c4d ? 1e-6 : 1e-3];
    else throw new PcapFormatError(`${this.name}: not a pcap or pcapng capture (magic 0x${magic.toString(16)})`);
    this.format = "pcap";
    this.linkType = (this.le ? b.readUInt32LE(20) : b.readUInt32BE(20)) & 0x0fffffff;
    return 24;
  }

  private pcapRecords(b: Buffer, o: number): number {
    const le = this.le;
    const len = b.length;
    while (o + 16 <= len) {
      const capLen = u32(b, o + 8, le);
      if (capLen > 0x4000000) throw new PcapFormatError(`${this.name}: packet ${this.count + 1} claims ${capLen} bytes`);
      if (o + 16 + capLen > len) break;
      this.count++;
      this.onFrame(b, o + 16, o + 16 + capLen, u32(b, o + 12, le), u32(b, o, le) * 1000 + u32(b, o + 4, le) * this.fraction, this.linkType);
      o += 16 + capLen;
    }
    return o;
  }

  private pcapngBlocks(b: Buffer, o: number): number {
    while (o + 12 <= b.length) {
      let le = this.le;
      if (b.readUInt32LE(o) === 0x0a0d0d0a) {
        // Section header: its byte-order magic decides how the rest of the section reads.
        const bom = b.readUInt32LE(o + 8);
        if (bom === 0x1a2b3c4d) le = true;
        else if (bom === 0x4d3c2b1a) le = false;
        else throw new PcapFormatError(`${this.name}: bad pcapng byte-order magic`);
        this.le = le;
        this.interfaces = [];
      }
      const type = le ? b.readUInt32LE(o) : b.readUInt32BE(o);
      const total = le ? b.readUInt32LE(o + 4) : b.readUInt32BE(o + 4);
      if (total < 12 || total % 4 !== 0) throw new PcapFormatError(`${this.name}: bad pcapng block length ${total}`);
      if (o + total > b.length) break;
      const block = b.subarray(o, o + total);
      const u32 = (at: number) => (le ? block.readUInt32LE(at) : block.readUInt32BE(at));
      if (type === 1) {
        this.interfaces.push({ linkType: le ? block.readUInt16LE(8) : block.readUInt16BE(8), unit: tsUnit(block, le, total) });
      } else if (type === 6) {
        const ifc = this.interfaces[u32(8)];
        if (!ifc) throw new PcapFormatError(`${this.name}: packet on undeclared interface ${u32(8)}`);
        const capLen = Math.min(u32(20), total - 32);
        this.count++;
        this.onFrame(b, o + 28, o + 28 + capLen, u32(24), (u32(12) * 4294967296 + u32(16)) * ifc.unit, ifc.linkType);
      } else if (type === 3) {
        const ifc = this.interfaces[0];
        if (!ifc) throw new PcapFormatError(`${this.name}: packet before any interface`);
        const length = u32(8);
        this.count++;
        this.onFrame(b, o + 12, o + 12 + Math.min(length, total - 16), length, 0, ifc.linkType);
      }
      o += total;
    }
    return o;
  }
}

/** A 32-bit field in either byte order. Plain arithmetic: Buffer's readUInt32 checks its arguments on every call. */
function u32(b: Uint8Array, at: number, le: boolean): number {
  return le
    ? (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) + b[at + 3]! * 0x1000000
    : b[at]! * 0x1000000 + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
}

interface Interface {
  linkType: number;
  /** ms per timestamp unit. */
  unit: number;
}

/** ms per timestamp unit from an interface block's if_tsresol option (default µs). */
function tsUnit(block: Buffer, le: boolean, total: number): number {
  let o = 16;
  while (o + 4 <= total - 4) {
    const code = le ? block.readUInt16LE(o) : block.readUInt16BE(o);
    const len = le ? block.readUInt16LE(o + 2) : block.readUInt16BE(o + 2);
    if (code === 0) break;
    if (code === 9 && len >= 1) {
      const v = block[o + 4]!;
      return (v & 0x80 ? Math.pow(2, -(v & 0x7f)) : Math.pow(10, -v)) * 1000;
    }
    o += 4 + ((len + 3) & ~3);
  }
  return 1e-3;
}
