// sFlow v5 datagrams (sflow_version_5.txt: XDR, big-endian 32-bit words), decoded by hand on a DataView.
// Samples and records are walked strictly by their declared lengths: an unknown (enterprise, format) is
// kept as its tag and length and skipped; a known one must fill its length exactly; nothing is read past
// the datagram, and counts are bounded. Anything else is a SflowDecodeError with a reason.

export type SflowFailure = "truncated" | "bad_version" | "bad_address" | "bad_length" | "too_many";

export class SflowDecodeError extends Error {
  constructor(
    readonly reason: SflowFailure,
    message: string,
  ) {
    super(message);
    this.name = "SflowDecodeError";
  }
}

/** Interface of a flow sample: format 0 ifIndex, 1 dropped (value = reason), 2 multiple (value = count, 0 unknown). */
export interface SflowPort {
  format: number;
  value: number;
}

export interface SflowRecord {
  /** "enterprise:format", e.g. "0:1" for a sampled header. */
  tag: string;
  length: number;
  /** Decoded fields of known record types; absent for unknown ones (skipped by length). */
  data?: Record<string, unknown>;
}

export interface SflowSample {
  tag: string;
  kind: "flow" | "counters" | "discard" | "unknown";
  expanded: boolean;
  length: number;
  sequence?: number;
  sourceIdType?: number;
  sourceIdIndex?: number;
  samplingRate?: number;
  samplePool?: number;
  drops?: number;
  input?: SflowPort;
  output?: SflowPort;
  /** Discard samples: the reason code. */
  reason?: number;
  records: SflowRecord[];
}

export interface SflowDatagram {
  version: number;
  agent: string;
  subAgentId: number;
  sequence: number;
  uptime: number;
  samples: SflowSample[];
}

const MAX_ITEMS = 1000;

class Reader {
  pos: number;
  constructor(
    readonly v: DataView,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }
  need(n: number): void {
    if (this.pos + n > this.end) throw new SflowDecodeError("truncated", `need ${n} bytes at offset ${this.pos}, ${this.end - this.pos} left`);
  }
  u32(): number {
    this.need(4);
    const x = this.v.getUint32(this.pos);
    this.pos += 4;
    return x;
  }
  u64(): number {
    const hi = this.u32();
    return hi * 0x1_0000_0000 + this.u32();
  }
  bytes(n: number): Uint8Array {
    this.need(n);
    const b = new Uint8Array(this.v.buffer, this.v.byteOffset + this.pos, n);
    this.pos += (n + 3) & ~3; // XDR opaque: padded to 4
    if (this.pos > this.end) throw new SflowDecodeError("truncated", "opaque padding past the end");
    return b;
  }
  opaque(): Uint8Array {
    return this.bytes(this.u32());
  }
  count(what: string): number {
    const n = this.u32();
    if (n > MAX_ITEMS) throw new SflowDecodeError("too_many", `${n} ${what} (limit ${MAX_ITEMS})`);
    return n;
  }
  ip4(): string {
    this.need(4);
    const s = `${this.v.getUint8(this.pos)}.${this.v.getUint8(this.pos + 1)}.${this.v.getUint8(this.pos + 2)}.${this.v.getUint8(this.pos + 3)}`;
    this.pos += 4;
    return s;
  }
  ip6(): string {
    this.need(16);
    const parts: string[] = [];
    for (let i = 0; i < 16; i += 2)
      parts.push(
        this.v
          .getUint16(this.pos + i)
          .toString(16)
          .padStart(4, "0"),
      );
    this.pos += 16;
    return parts.join(":");
  }
  address(): string {
    const type = this.u32();
    if (type === 1) return this.ip4();
    if (type === 2) return this.ip6();
    if (type === 0) return "";
    throw new SflowDecodeError("bad_address", `address type ${type}`);
  }
  mac(): string {
    const b = this.bytes(6);
    return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  }
}

/** "enterprise:format" of a sample or record type; the strings are made once per distinct type. */
const TAGS = new Map<number, string>();
function tagOf(format: number): string {
  let tag = TAGS.get(format);
  if (tag === undefined) {
    tag = `${format >>> 12}:${format & 0xfff}`;
    if (TAGS.size < 4096) TAGS.set(format, tag);
  }
  return tag;
}

function port(word: number): SflowPort {
  return { format: word >>> 30, value: word & 0x3fffffff };
}

function flowRecord(r: Reader, tag: string): Record<string, unknown> | undefined {
  switch (tag) {
    case "0:1": {
      const headerProtocol = r.u32();
      const frameLength = r.u32();
      const stripped = r.u32();
      const header = r.opaque();
      return { headerProtocol, frameLength, stripped, headerLength: header.length, header };
    }
    case "0:2": {
      const length = r.u32();
      const src = r.mac();
      const dst = r.mac();
      return { length, src, dst, type: r.u32() };
    }
    case "0:3":
      return { length: r.u32(), protocol: r.u32(), src: r.ip4(), dst: r.ip4(), srcPort: r.u32(), dstPort: r.u32(), tcpFlags: r.u32(), tos: r.u32() };
    case "0:4":
      return { length: r.u32(), protocol: r.u32(), src: r.ip6(), dst: r.ip6(), srcPort: r.u32(), dstPort: r.u32(), tcpFlags: r.u32(), priority: r.u32() };
    case "0:1001":
      return { srcVlan: r.u32(), srcPriority: r.u32(), dstVlan: r.u32(), dstPriority: r.u32() };
    case "0:1002":
      return { nextHop: r.address(), srcMask: r.u32(), dstMask: r.u32() };
    case "0:1003": {
      const nextHop = r.address();
      const as = r.u32();
      const srcAs = r.u32();
      const srcPeerAs = r.u32();
      const segments = r.count("AS path segments");
      const asPath: { type: number; as: number[] }[] = [];
      for (let i = 0; i < segments; i++) {
        const type = r.u32();
        const n = r.count("ASes");
        asPath.push({ type, as: Array.from({ length: n }, () => r.u32()) });
      }
      const nc = r.count("communities");
      const communities = Array.from({ length: nc }, () => r.u32());
      return { nextHop, as, srcAs, srcPeerAs, asPath, communities, localPref: r.u32() };
    }
    default:
      return undefined;
  }
}

const GENERIC = [
  "ifIndex",
  "ifType",
  "ifSpeed",
  "ifDirection",
  "ifStatus",
  "ifInOctets",
  "ifInUcastPkts",
  "ifInMulticastPkts",
  "ifInBroadcastPkts",
  "ifInDiscards",
  "ifInErrors",
  "ifInUnknownProtos",
  "ifOutOctets",
  "ifOutUcastPkts",
  "ifOutMulticastPkts",
  "ifOutBroadcastPkts",
  "ifOutDiscards",
  "ifOutErrors",
  "ifPromiscuousMode",
] as const;
const GENERIC_64 = new Set(["ifSpeed", "ifInOctets", "ifOutOctets"]);
const ETHERNET = [
  "dot3StatsAlignmentErrors",
  "dot3StatsFCSErrors",
  "dot3StatsSingleCollisionFrames",
  "dot3StatsMultipleCollisionFrames",
  "dot3StatsSQETestErrors",
  "dot3StatsDeferredTransmissions",
  "dot3StatsLateCollisions",
  "dot3StatsExcessiveCollisions",
  "dot3StatsInternalMacTransmitErrors",
  "dot3StatsCarrierSenseErrors",
  "dot3StatsFrameTooLongs",
  "dot3StatsInternalMacReceiveErrors",
  "dot3StatsSymbolErrors",
] as const;

function counterRecord(r: Reader, tag: string): Record<string, unknown> | undefined {
  const out: Record<string, number> = {};
  if (tag === "0:1") for (const k of GENERIC) out[k] = GENERIC_64.has(k) ? r.u64() : r.u32();
  else if (tag === "0:2") for (const k of ETHERNET) out[k] = r.u32();
  else if (tag === "0:1004") {
    // OpenFlow port (sflow_openflow.txt). The datapath id is 64 bits (the top 16 implementer-defined), past a
    // JS number's exact range: 16 hex digits, as OVS shows it (ovs-vsctl get bridge X datapath_id).
    const high = r.u32().toString(16).padStart(8, "0");
    return { datapathId: high + r.u32().toString(16).padStart(8, "0"), portNo: r.u32() };
  } else if (tag === "0:1005")
    return { portName: new TextDecoder().decode(r.opaque()) }; // port name
  else return undefined;
  return out;
}

function records(r: Reader, decodeOne: (r: Reader, tag: string) => Record<string, unknown> | undefined): SflowRecord[] {
  const n = r.count("records");
  const out: SflowRecord[] = [];
  for (let i = 0; i < n; i++) {
    const tag = tagOf(r.u32());
    const length = r.u32();
    r.need(length);
    const body = new Reader(r.v, r.pos, r.pos + length);
    const data = decodeOne(body, tag);
    if (data !== undefined && body.pos !== body.end) {
      throw new SflowDecodeError("bad_length", `record ${tag} declares ${length} bytes but holds ${body.pos - r.pos}`);
    }
    out.push(data === undefined ? { tag, length } : { tag, length, data });
    r.pos += length;
  }
  return out;
}

/** A sample's data source: one word (class in the top byte) in compact samples, two in expanded and discard ones. */
function sourceId(r: Reader, s: SflowSample, twoWords: boolean): void {
  if (twoWords) {
    s.sourceIdType = r.u32();
    s.sourceIdIndex = r.u32();
  } else {
    const w = r.u32();
    s.sourceIdType = w >>> 24;
    s.sourceIdIndex = w & 0xffffff;
  }
}

/** A sample's input and output ports, in the sample type's encoding. */
function ports(r: Reader, s: SflowSample, tag: string, expanded: boolean): void {
  if (tag === "0:5") {
    // Discard samples carry plain ifIndex words (sflow_drop.txt).
    s.input = { format: 0, value: r.u32() };
    s.output = { format: 0, value: r.u32() };
  } else if (expanded) {
    s.input = { format: r.u32(), value: r.u32() };
    s.output = { format: r.u32(), value: r.u32() };
  } else {
    s.input = port(r.u32());
    s.output = port(r.u32());
  }
}

// Plain functions, not closures: a closure made per sample costs more than the sample's decoding.
function sample(r: Reader, tag: string, length: number): SflowSample {
  const s: SflowSample = { tag, kind: "unknown", expanded: false, length, records: [] };
  const expanded = tag === "0:3" || tag === "0:4";
  const twoWords = expanded || tag === "0:5";
  s.expanded = expanded;
  switch (tag) {
    case "0:1":
    case "0:3":
      s.kind = "flow";
      s.sequence = r.u32();
      sourceId(r, s, twoWords);
      s.samplingRate = r.u32();
      s.samplePool = r.u32();
      s.drops = r.u32();
      ports(r, s, tag, expanded);
      s.records = records(r, flowRecord);
      return s;
    case "0:2":
    case "0:4":
      s.kind = "counters";
      s.sequence = r.u32();
      sourceId(r, s, twoWords);
      s.records = records(r, counterRecord);
      return s;
    case "0:5":
      s.kind = "discard";
      s.sequence = r.u32();
      sourceId(r, s, twoWords);
      s.drops = r.u32();
      ports(r, s, tag, expanded);
      s.reason = r.u32();
      s.records = records(r, flowRecord);
      return s;
    default:
      return s;
  }
}

export function decodeSflow(buf: Uint8Array): SflowDatagram {
  const r = new Reader(new DataView(buf.buffer, buf.byteOffset, buf.byteLength), 0, buf.byteLength);
  const version = r.u32();
  if (version !== 5) throw new SflowDecodeError("bad_version", `sFlow version ${version}, only 5 is decoded`);
  const d: SflowDatagram = { version, agent: r.address(), subAgentId: r.u32(), sequence: r.u32(), uptime: r.u32(), samples: [] };
  const n = r.count("samples");
  for (let i = 0; i < n; i++) {
    const tag = tagOf(r.u32());
    const length = r.u32();
    r.need(length);
    const body = new Reader(r.v, r.pos, r.pos + length);
    const s = sample(body, tag, length);
    if (s.kind !== "unknown" && body.pos !== body.end) {
      throw new SflowDecodeError("bad_length", `sample ${tag} declares ${length} bytes but holds ${body.pos - r.pos}`);
    }
    d.samples.push(s);
    r.pos += length;
  }
  return d;
}
