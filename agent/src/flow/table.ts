// The flow table: packets in, Skydive flows out. One table per capture point (a capture on an interface,
// a pcap file, an sFlow exporter's data source).
//
// Per packet: the caller parses the frame into a FrameView; the table writes the canonical key of each
// segment (outer packet, then each encapsulated one: VXLAN, Geneve, GRE, MPLS) as bytes, finds the flow by
// a hash of those bytes, and counts the packet in its direction. Endpoints are ordered canonically in the
// key, so both directions of a conversation meet in one flow, while A/B stay the first packet's
// source/destination. Nothing is allocated per packet of a known flow.
// Time is whatever the caller says it is (`advance(now)`): packet time for a replayed file, the clock for a
// live capture. Every `update`, flows that saw packets are emitted with LastUpdateMetric = that period's
// delta; flows idle for `expire` (or their application's timeout), and TCP flows `finished_hold` after
// FIN/RST, are emitted one last time and dropped. Above `max_entries`, the least recently seen of a sample
// of flows is emitted and evicted (sampled LRU: no reordering on the packet path).
//
// Memory: flows live in columns (typed arrays indexed by a slot number), their keys in a word arena; their
// addresses, ports and MACs are read back from the key when a record is emitted, not kept as strings.
import type { FlowExporter, FlowFinishType, FlowLayer, FlowMetric, FlowProtocol, FlowRecord, ICMPType, TCPMetric, TransportLayer } from "@skystream/schemas";
import { applicationLayer, applicationOf, type ApplicationPorts } from "./application.js";
import type { FlowTableConfig } from "./config.js";
import { flowUuidValue, hex64, trackingId } from "./ids.js";
import { FrameView, ipString, macString, parseFrame, segmentPacket, type Segment } from "./packet.js";

/** Where the table's flows were seen: stamped on every record. */
export interface CapturePoint {
  host: string;
  nodeTID: string;
  captureID: string;
  captureType: string;
  /** 1 in N packets sampled (sFlow); reported on the flows. */
  samplingRate?: number;
  exporter?: FlowExporter | null;
}

export interface FlowTableStats {
  packets: number;
  bytes: number;
  flowsCreated: number;
  flowsEvicted: number;
  flowsExpired: number;
  /** Packets whose bytes ended before their last layer did (still counted, keyed by what was decoded). */
  truncated: number;
}

const FINISH: FlowFinishType[] = ["NOT_FINISHED", "TIMEOUT", "TCP_FIN", "TCP_RST"];
const NOT_FINISHED = 0;
const TIMEOUT = 1;
const TCP_FIN = 2;
const TCP_RST = 3;

const TCP_FLAG_FIN = 1;
const TCP_FLAG_SYN = 2;
const TCP_FLAG_RST = 4;
const TCP_FLAG_ACK = 16;

// Bits of the flags column.
const LIVE = 1;
const SWAPPED = 2;
const TOUCHED = 4;
const RECENT = 8;
const FINISH_SHIFT = 4; // two bits

/** ICMP types by kind: request and reply of one exchange share a kind (and a flow). */
const ICMP_TYPES: ICMPType[] = [
  "UNKNOWN",
  "DESTINATION_UNREACHABLE",
  "ECHO",
  "NEIGHBOR",
  "ADDRESS_MASK",
  "INFO",
  "PARAMETER_PROBLEM",
  "REDIRECT",
  "ROUTER",
  "SOURCE_QUENCH",
  "TIME_EXCEEDED",
  "TIMESTAMP",
  "PACKET_TOO_BIG",
];
const V4_KINDS: Record<number, ICMPType> = {
  0: "ECHO",
  8: "ECHO",
  3: "DESTINATION_UNREACHABLE",
  4: "SOURCE_QUENCH",
  5: "REDIRECT",
  9: "ROUTER",
  10: "ROUTER",
  11: "TIME_EXCEEDED",
  12: "PARAMETER_PROBLEM",
  13: "TIMESTAMP",
  14: "TIMESTAMP",
  15: "INFO",
  16: "INFO",
  17: "ADDRESS_MASK",
  18: "ADDRESS_MASK",
};
const V6_KINDS: Record<number, ICMPType> = {
  1: "DESTINATION_UNREACHABLE",
  2: "PACKET_TOO_BIG",
  3: "TIME_EXCEEDED",
  4: "PARAMETER_PROBLEM",
  128: "ECHO",
  129: "ECHO",
  133: "ROUTER",
  134: "ROUTER",
  135: "NEIGHBOR",
  136: "NEIGHBOR",
  137: "REDIRECT",
};
/** Kind numbers (index in ICMP_TYPES) by ICMP type, per IP version: looked up per ICMP packet. */
const kindIndex = (kinds: Record<number, ICMPType>) => new Map(Object.entries(kinds).map(([type, name]) => [Number(type), ICMP_TYPES.indexOf(name)]));
const V4_KIND_INDEX = kindIndex(V4_KINDS);
const V6_KIND_INDEX = kindIndex(V6_KINDS);
const icmpKind = (version: number, type: number) => (version === 6 ? V6_KIND_INDEX : V4_KIND_INDEX).get(type) ?? 0;
const isEchoRequest = (version: number, type: number) => (version === 4 ? type === 8 : type === 128);
const isEchoReply = (version: number, type: number) => (version === 4 ? type === 0 : type === 129);

const TRANSPORT_PROTOCOL: Record<number, FlowProtocol> = { 6: "TCP", 17: "UDP", 132: "SCTP" };
const KEY_L2 = 0xff;

/** What a flow's layers looked like at creation, beyond its key: shared by every flow of that shape. */
interface Shape {
  layersPath: string;
  application: string;
  /** Application timeout in ms, 0 for none. */
  timeout: number;
}

/** What only some flows need: kept in a side map by slot. */
interface Extra {
  /** Link of the first packet when the key has no MACs (L3 mode). */
  link?: FlowLayer;
  /** Ports of the first packet when the key leaves the source port out (outer flow of a UDP tunnel). */
  transport?: TransportLayer;
  tcp?: TCPMetric;
  /** Exporter input and output ifIndex of the first sampled packet (sFlow). */
  ports?: readonly [number, number];
  /** The outer flow's UUID, for an encapsulated flow. */
  parentUuid?: string;
}

const INITIAL_CAPACITY = 1024;
/** Key space per flow: 18 words = 72 bytes (the longest key, IPv6 + ICMP + MACs + VLANs, is 65). */
const KEY_WORDS = 18;
const EVICTION_SAMPLE = 16;

export class FlowTable {
  private capacity = 0;
  private highWater = 0;
  private count = 0;
  private readonly free: number[] = [];
  // Columns, indexed by slot; keys in KEY_WORDS words per slot.
  private keys = new Int32Array(0);
  private keyLength = new Uint8Array(0);
  private flags = new Uint8Array(0);
  private hash = new Int32Array(0);
  private next = new Int32Array(0);
  private parent = new Int32Array(0);
  private l3Length = new Uint8Array(0);
  private shape = new Uint16Array(0);
  /** UUID, fixed when the flow is created (the capture point's NodeTID may be learnt later). */
  private uuidHigh = new Uint32Array(0);
  private uuidLow = new Uint32Array(0);
  private abPackets = new Float64Array(0);
  private abBytes = new Float64Array(0);
  private baPackets = new Float64Array(0);
  private baBytes = new Float64Array(0);
  private sentAbPackets = new Float64Array(0);
  private sentAbBytes = new Float64Array(0);
  private sentBaPackets = new Float64Array(0);
  private sentBaBytes = new Float64Array(0);
  private start = new Float64Array(0);
  private last = new Float64Array(0);
  private rtt = new Float64Array(0);
  private rttStart = new Float64Array(0);
  private readonly extras = new Map<number, Extra>();
  /** Slot of the first flow of each key hash; the others follow through `next`. */
  private readonly index = new Map<number, number>();
  private readonly shapes: Shape[] = [];
  private readonly shapeIds = new Map<string, number>();
  private out: FlowRecord[] = [];
  private nextUpdate = -1;
  private nextSweep = -1;
  private previousUpdate = -1;
  private readonly sweepEvery: number;
  private readonly appTimeouts: Map<string, number>;
  private readonly ports: ApplicationPorts;
  private readonly view = new FrameView();
  /** The key being built, as bytes and as the words they pad to. */
  private readonly keyBytes = new Uint8Array(KEY_WORDS * 4);
  private readonly keyWords = new Int32Array(this.keyBytes.buffer);
  private evictCursor = 0;
  readonly stats: FlowTableStats = { packets: 0, bytes: 0, flowsCreated: 0, flowsEvicted: 0, flowsExpired: 0, truncated: 0 };

  constructor(
    private readonly cfg: FlowTableConfig,
    readonly point: CapturePoint,
  ) {
    this.appTimeouts = new Map(Object.entries(cfg.application_timeout).map(([app, ms]) => [app.toLowerCase(), ms]));
    this.ports = cfg.application_ports;
    const timeouts = [cfg.update, cfg.expire, cfg.finished_hold, ...this.appTimeouts.values()].filter((ms) => ms > 0);
    this.sweepEvery = Math.max(100, Math.min(...timeouts) / 2);
    this.grow(Math.min(INITIAL_CAPACITY, cfg.max_entries));
  }

  get size(): number {
    return this.count;
  }

  private grow(capacity: number): void {
    const f64 = (a: Float64Array) => {
      const b = new Float64Array(capacity);
      b.set(a);
      return b;
    };
    const copy = <T extends Uint8Array | Uint16Array | Int32Array>(a: T, make: (n: number) => T): T => {
      const b = make(capacity);
      b.set(a);
      return b;
    };
    this.flags = copy(this.flags, (n) => new Uint8Array(n));
    this.hash = copy(this.hash, (n) => new Int32Array(n));
    this.next = copy(this.next, (n) => new Int32Array(n));
    this.parent = copy(this.parent, (n) => new Int32Array(n));
    this.l3Length = copy(this.l3Length, (n) => new Uint8Array(n));
    this.keyLength = copy(this.keyLength, (n) => new Uint8Array(n));
    const keys = new Int32Array(capacity * KEY_WORDS);
    keys.set(this.keys);
    this.keys = keys;
    this.shape = copy(this.shape, (n) => new Uint16Array(n));
    const u32 = (a: Uint32Array) => {
      const b = new Uint32Array(capacity);
      b.set(a);
      return b;
    };
    this.uuidHigh = u32(this.uuidHigh);
    this.uuidLow = u32(this.uuidLow);
    this.abPackets = f64(this.abPackets);
    this.abBytes = f64(this.abBytes);
    this.baPackets = f64(this.baPackets);
    this.baBytes = f64(this.baBytes);
    this.sentAbPackets = f64(this.sentAbPackets);
    this.sentAbBytes = f64(this.sentAbBytes);
    this.sentBaPackets = f64(this.sentBaPackets);
    this.sentBaBytes = f64(this.sentBaBytes);
    this.start = f64(this.start);
    this.last = f64(this.last);
    this.rtt = f64(this.rtt);
    this.rttStart = f64(this.rttStart);
    this.capacity = capacity;
  }

  /**
   * Counts one frame, decoded into `view` by parseFrame: `time` in ms (fractions keep µs for RTT), `length`
   * its length on the wire, `scale` how many packets it stands for (an sFlow sampling rate: packets and
   * bytes are multiplied by it); `inIfIndex`/`outIfIndex`, the exporter's ports of a sampled packet (-1:
   * none), kept per flow from its first packet (Exporter.InIfIndex/OutIfIndex).
   */
  frame(view: FrameView, time: number, length: number, scale = 1, inIfIndex = -1, outIfIndex = -1): void {
    // Time moves first: a packet after its flow's expiry starts a new flow.
    if (time >= this.nextSweep || time >= this.nextUpdate) this.advance(time);
    this.stats.packets += scale;
    this.stats.bytes += length * scale;
    let parent = -1;
    for (let i = 0; i < view.count; i++) {
      const s = view.segments[i]!;
      if (s.truncated) this.stats.truncated++;
      if (i > 0) length = innerLength(s, length);
      parent = this.segment(view, i, time, length, scale, parent, inIfIndex, outIfIndex);
    }
  }

  /** Decodes and counts a frame of a pcap link type (convenience for tests and sampled headers). */
  bytes(linkType: number, data: Uint8Array, time: number, length: number, scale = 1, inIfIndex = -1, outIfIndex = -1): boolean {
    if (!parseFrame(linkType, data, 0, data.length, this.view)) return false;
    this.frame(this.view, time, length, scale, inIfIndex, outIfIndex);
    return true;
  }

  /**
   * The segment's key, written as bytes (kept in the key arena when the flow is new):
   * with IP: version, protocol, the two addresses in canonical order, ports in the same order, ICMP
   * kind/code/id, tunnel id; then, in L2 mode or without IP: a 0xff mark, whether there is Ethernet, the
   * MACs in canonical order and VLAN ids, the last layer, and the tunnel id when there is no IP.
   * Canonical order: byte comparison of the addresses, ports breaking ties.
   */
  private segment(view: FrameView, i: number, time: number, length: number, scale: number, parent: number, inIfIndex: number, outIfIndex: number): number {
    const s = view.segments[i]!;
    const b = view.bytes;
    const k = this.keyBytes;
    let n = 0;
    let swapped = false;
    // The outer UDP flow of VXLAN/Geneve: the source port is per-flow entropy and both directions go to
    // the tunnel port, so the key holds the tunnel port alone.
    const tunnel = i + 1 < view.count && s.transport === 17;
    if (s.ip >= 0) {
      const v4 = s.ipVersion === 4;
      const alen = v4 ? 4 : 16;
      const src = v4 ? s.ip + 12 : s.ip + 8;
      const dst = src + alen;
      const cmp = compareBytes(b, src, dst, alen);
      swapped = cmp > 0 || (cmp === 0 && !tunnel && s.srcPort > s.dstPort);
      k[n++] = s.ipVersion;
      k[n++] = s.protocol;
      n = copy(b, swapped ? dst : src, alen, k, n);
      n = copy(b, swapped ? src : dst, alen, k, n);
      const lo = tunnel ? 0 : swapped ? s.dstPort : s.srcPort;
      const hi = tunnel || !swapped ? s.dstPort : s.srcPort;
      k[n++] = lo >> 8;
      k[n++] = lo & 255;
      k[n++] = hi >> 8;
      k[n++] = hi & 255;
      if (s.protocol === 1 || s.protocol === 58) {
        k[n++] = s.icmpType >= 0 ? icmpKind(s.ipVersion, s.icmpType) : 0;
        k[n++] = s.icmpCode;
        k[n++] = s.icmpId >> 8;
        k[n++] = s.icmpId & 255;
      }
      n = writeU32(k, n, s.tunnelId >= 0 ? s.tunnelId : 0);
    }
    const l3Length = n;
    const l2Part = s.ip < 0 || this.cfg.layer_key_mode === "L2";
    if (l2Part) {
      k[n++] = KEY_L2;
      k[n++] = s.eth >= 0 ? 1 : 0;
      if (s.eth >= 0) {
        const srcMac = s.eth + 6;
        const dstMac = s.eth;
        if (s.ip < 0) swapped = compareBytes(b, srcMac, dstMac, 6) > 0;
        n = copy(b, swapped ? dstMac : srcMac, 6, k, n);
        n = copy(b, swapped ? srcMac : dstMac, 6, k, n);
        n = writeU32(k, n, s.vlanId >>> 0);
      }
      k[n++] = s.lastLayer;
      if (s.ip < 0) n = writeU32(k, n, s.tunnelId >= 0 ? s.tunnelId : 0);
    }

    // Found by a hash of the key's words, confirmed by comparing them (nothing allocated per packet).
    for (let j = n; j & 3; j++) k[j] = 0;
    const words = (n + 3) >> 2;
    const kw = this.keyWords;
    let h = parent >= 0 ? this.hash[parent]! : 0x811c9dc5;
    for (let j = 0; j < words; j++) h = Math.imul(h ^ kw[j]!, 0x01000193);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h = (h ^ (h >>> 12)) & 0x3fffffff; // a small integer: cheap as a Map key
    let f = this.index.get(h) ?? -1;
    while (f >= 0 && !(this.keyLength[f] === n && this.parent[f] === parent && this.sameKey(f, words))) f = this.next[f]!;
    if (f < 0) f = this.create(view, i, h, n, l3Length, swapped, parent, time, tunnel, l2Part, inIfIndex, outIfIndex);
    else this.flags[f]! |= RECENT;
    this.flags[f]! |= TOUCHED;
    if (time > this.last[f]!) this.last[f] = time;

    const ab = swapped === ((this.flags[f]! & SWAPPED) !== 0);
    if (ab) {
      this.abPackets[f] = this.abPackets[f]! + scale;
      this.abBytes[f] = this.abBytes[f]! + length * scale;
    } else {
      this.baPackets[f] = this.baPackets[f]! + scale;
      this.baBytes[f] = this.baBytes[f]! + length * scale;
    }

    if (s.transport === 6) this.tcp(f, s.flags, time, ab, s.ttl);
    else if (s.icmpType >= 0) {
      if (isEchoRequest(s.ipVersion, s.icmpType)) {
        if (this.rttStart[f] === 0) this.rttStart[f] = time;
      } else if (isEchoReply(s.ipVersion, s.icmpType) && this.rttStart[f] !== 0) {
        this.rtt[f] = Math.round((time - this.rttStart[f]!) * 1e6);
        this.rttStart[f] = 0;
      }
    }
    return f;
  }

  /** The flow's key equals the key being built. */
  private sameKey(f: number, words: number): boolean {
    const keys = this.keys;
    const kw = this.keyWords;
    const o = f * KEY_WORDS;
    for (let j = 0; j < words; j++) if (keys[o + j] !== kw[j]) return false;
    return true;
  }

  private tcp(f: number, flags: number, time: number, ab: boolean, ttl: number): void {
    const syn = (flags & TCP_FLAG_SYN) !== 0;
    const rst = (flags & TCP_FLAG_RST) !== 0;
    const fin = (flags & TCP_FLAG_FIN) !== 0;
    if (syn && this.rttStart[f] === 0 && (flags & TCP_FLAG_ACK) === 0) this.rttStart[f] = time;
    else if (this.rttStart[f] !== 0 && ((syn && (flags & TCP_FLAG_ACK) !== 0) || rst)) {
      this.rtt[f] = Math.round((time - this.rttStart[f]!) * 1e6);
      this.rttStart[f] = 0;
    }
    const finish = (this.flags[f]! >> FINISH_SHIFT) & 3;
    if (rst) this.setFinish(f, TCP_RST);
    else if (fin && finish !== TCP_RST) this.setFinish(f, TCP_FIN);
    if (!this.cfg.extra_tcp_metric || !(syn || fin || rst)) return;
    const m = this.extras.get(f)?.tcp;
    if (!m) return;
    const ms = Math.floor(time);
    if (ab) {
      if (syn && !m.ABSynStart) [m.ABSynStart, m.ABSynTTL] = [ms, ttl];
      if (fin && !m.ABFinStart) m.ABFinStart = ms;
      if (rst && !m.ABRstStart) m.ABRstStart = ms;
    } else {
      if (syn && !m.BASynStart) [m.BASynStart, m.BASynTTL] = [ms, ttl];
      if (fin && !m.BAFinStart) m.BAFinStart = ms;
      if (rst && !m.BARstStart) m.BARstStart = ms;
    }
  }

  private setFinish(f: number, finish: number): void {
    this.flags[f] = (this.flags[f]! & ~(3 << FINISH_SHIFT)) | (finish << FINISH_SHIFT);
  }

  /** The shape id of a LayersPath/Application pair (a handful of distinct values for millions of flows). */
  private shapeOf(layersPath: string, application: string): number {
    const k = `${layersPath}\u0001${application}`;
    let id = this.shapeIds.get(k);
    if (id === undefined) {
      id = this.shapes.length;
      if (id >= 0xffff) return 0xffff; // beyond: the last shape slot is reused (paths that many are noise)
      this.shapes.push({ layersPath, application, timeout: this.appTimeouts.get(application.toLowerCase()) ?? 0 });
      this.shapeIds.set(k, id);
    }
    return id;
  }

  private create(
    view: FrameView,
    i: number,
    h: number,
    n: number,
    l3Length: number,
    swapped: boolean,
    parent: number,
    time: number,
    tunnel: boolean,
    l2Part: boolean,
    inIfIndex: number,
    outIfIndex: number,
  ): number {
    if (this.count >= this.cfg.max_entries) this.evictOne(time);
    let f = this.free.pop();
    if (f === undefined) {
      if (this.highWater === this.capacity) this.grow(Math.min(this.cfg.max_entries + 1, this.capacity * 2));
      f = this.highWater++;
    }
    this.keys.set(this.keyWords.subarray(0, (n + 3) >> 2), f * KEY_WORDS);
    this.keyLength[f] = n;
    this.l3Length[f] = l3Length;
    this.hash[f] = h;
    this.parent[f] = parent;
    this.flags[f] = LIVE | TOUCHED | (swapped ? SWAPPED : 0);
    this.abPackets[f] = this.abBytes[f] = this.baPackets[f] = this.baBytes[f] = 0;
    this.sentAbPackets[f] = this.sentAbBytes[f] = this.sentBaPackets[f] = this.sentBaBytes[f] = 0;
    this.start[f] = this.last[f] = time;
    this.rtt[f] = this.rttStart[f] = 0;

    // What the key does not say: layer names, application, and (rarely) display values it leaves out.
    const seg = segmentPacket(view, i);
    const app = applicationLayer(seg);
    const layers = seg.layers.join("/");
    const path = app ? `${layers}/${app}` : layers;
    this.shape[f] = this.shapeOf(path, applicationOf(seg, app ?? seg.layers[seg.layers.length - 1] ?? "", this.ports));
    let extra: Extra | undefined;
    if (seg.ethernet && !l2Part) (extra ??= {}).link = { Protocol: "ETHERNET", A: seg.ethernet.src, B: seg.ethernet.dst, ID: view.segments[i]!.vlanId };
    if (tunnel && seg.transport) (extra ??= {}).transport = { Protocol: "UDP", A: seg.transport.srcPort, B: seg.transport.dstPort, ID: 0 };
    if (this.cfg.extra_tcp_metric && seg.transport?.protocol === "TCP") {
      (extra ??= {}).tcp = { ABSynStart: 0, BASynStart: 0, ABSynTTL: 0, BASynTTL: 0, ABFinStart: 0, BAFinStart: 0, ABRstStart: 0, BARstStart: 0 };
    }
    if (inIfIndex >= 0) (extra ??= {}).ports = [inIfIndex, outIfIndex];
    if (parent >= 0) (extra ??= {}).parentUuid = this.uuidOf(parent);
    if (extra) this.extras.set(f, extra);
    else this.extras.delete(f);
    const uuid = flowUuidValue(this.keyOf(f), extra?.parentUuid ?? "", time, this.point.nodeTID);
    this.uuidHigh[f] = Number(uuid >> 32n);
    this.uuidLow[f] = Number(uuid & 0xffffffffn);

    const head = this.index.get(h);
    this.next[f] = head ?? -1;
    this.index.set(h, f);
    this.count++;
    this.stats.flowsCreated++;
    return f;
  }

  /** The flow's key bytes (a view into the arena). */
  private keyOf(f: number): Uint8Array {
    return new Uint8Array(this.keys.buffer, f * KEY_WORDS * 4, this.keyLength[f]!);
  }

  private uuidOf(f: number): string {
    return hex64(this.uuidHigh[f]!, this.uuidLow[f]!);
  }

  private remove(f: number): void {
    const h = this.hash[f]!;
    const head = this.index.get(h)!;
    if (head === f) {
      if (this.next[f]! >= 0) this.index.set(h, this.next[f]!);
      else this.index.delete(h);
    } else {
      for (let p = head; p >= 0; p = this.next[p]!) {
        if (this.next[p] === f) {
          this.next[p] = this.next[f]!;
          break;
        }
      }
    }
    this.flags[f] = 0;
    this.extras.delete(f);
    this.free.push(f);
    this.count--;
  }

  /** Emits and drops the least recently seen of a sample of flows (all of them in a small table). */
  private evictOne(now: number): void {
    let victim = -1;
    let oldest = Infinity;
    let seen = 0;
    const sample = Math.min(EVICTION_SAMPLE, this.count);
    for (let tries = 0; seen < sample && tries < this.highWater * 2; tries++) {
      const f = this.evictCursor;
      this.evictCursor = (this.evictCursor + 1) % this.highWater;
      if (!(this.flags[f]! & LIVE)) continue;
      seen++;
      // Seen since the scan last passed: a second chance (not this time).
      const recent = (this.flags[f]! & RECENT) !== 0;
      this.flags[f]! &= ~RECENT;
      const age = recent ? this.last[f]! + 1e15 : this.last[f]!;
      if (age < oldest) [victim, oldest] = [f, age];
    }
    if (victim < 0) return;
    this.stats.flowsEvicted++;
    this.emit(victim, now, (this.flags[victim]! >> FINISH_SHIFT) & 3);
    this.remove(victim);
  }

  /** Moves the table's clock: emits the period's updates and the flows that ended. Cheap when nothing is due. */
  advance(now: number): void {
    if (this.nextUpdate < 0) {
      this.nextUpdate = now + this.cfg.update;
      this.nextSweep = now + this.sweepEvery;
      this.previousUpdate = now;
      return;
    }
    if (now >= this.nextSweep) {
      this.sweep(now);
      this.nextSweep = now + this.sweepEvery;
    }
    if (now >= this.nextUpdate) {
      for (let f = 0; f < this.highWater; f++) {
        if (this.flags[f]! & TOUCHED) this.emit(f, now, (this.flags[f]! >> FINISH_SHIFT) & 3);
      }
      this.previousUpdate = now;
      this.nextUpdate = now + this.cfg.update;
    }
  }

  private sweep(now: number): void {
    const { expire, finished_hold: hold } = this.cfg;
    for (let f = 0; f < this.highWater; f++) {
      const flags = this.flags[f]!;
      if (!(flags & LIVE)) continue;
      const idle = now - this.last[f]!;
      const fin = (flags >> FINISH_SHIFT) & 3;
      const timeout = this.shapes[this.shape[f]!]?.timeout ?? 0;
      let finish = -1;
      if (fin !== NOT_FINISHED && idle >= hold) finish = fin;
      else if ((timeout > 0 && idle >= timeout) || idle >= expire) finish = TIMEOUT;
      if (finish < 0) continue;
      this.stats.flowsExpired++;
      this.emit(f, now, finish);
      this.remove(f);
    }
  }

  /** Emits every flow as it stands and empties the table (end of a replayed file, agent stop). */
  flush(now: number): void {
    for (let f = 0; f < this.highWater; f++) {
      if (this.flags[f]! & LIVE) this.emit(f, now, (this.flags[f]! >> FINISH_SHIFT) & 3);
    }
    for (let f = 0; f < this.highWater; f++) if (this.flags[f]! & LIVE) this.remove(f);
  }

  /** The records emitted since the last call. */
  drain(): FlowRecord[] {
    const out = this.out;
    this.out = [];
    return out;
  }

  private emit(f: number, now: number, finish: number): void {
    const p = this.point;
    const start = this.start[f]!;
    const metric: FlowMetric = {
      ABPackets: this.abPackets[f]!,
      ABBytes: this.abBytes[f]!,
      BAPackets: this.baPackets[f]!,
      BABytes: this.baBytes[f]!,
      Start: Math.floor(start),
      Last: Math.floor(this.last[f]!),
      RTT: this.rtt[f]!,
    };
    const periodStart = Math.floor(Math.max(this.previousUpdate, start));
    const lastUpdate: FlowMetric = {
      ABPackets: metric.ABPackets - this.sentAbPackets[f]!,
      ABBytes: metric.ABBytes - this.sentAbBytes[f]!,
      BAPackets: metric.BAPackets - this.sentBaPackets[f]!,
      BABytes: metric.BABytes - this.sentBaBytes[f]!,
      Start: Math.min(periodStart, Math.floor(now)),
      Last: Math.floor(now),
      RTT: metric.RTT,
    };
    this.sentAbPackets[f] = metric.ABPackets;
    this.sentAbBytes[f] = metric.ABBytes;
    this.sentBaPackets[f] = metric.BAPackets;
    this.sentBaBytes[f] = metric.BABytes;
    this.flags[f]! &= ~TOUCHED;
    const key = this.keyOf(f);
    const shape = this.shapes[this.shape[f]!]!;
    const extra = this.extras.get(f);
    const layers = keyLayers(key, this.l3Length[f]!, (this.flags[f]! & SWAPPED) !== 0);
    this.out.push({
      UUID: this.uuidOf(f),
      TrackingID: trackingId(key),
      L3TrackingID: trackingId(key.subarray(0, this.l3Length[f]!)),
      ParentUUID: extra?.parentUuid ?? "",
      LayersPath: shape.layersPath,
      Application: shape.application,
      Link: extra?.link ?? layers.link,
      Network: layers.network,
      Transport: extra?.transport ?? layers.transport,
      ICMP: layers.icmp,
      Metric: metric,
      LastUpdateMetric: lastUpdate,
      TCPMetric: extra?.tcp ? { ...extra.tcp } : null,
      IPMetric: null,
      FinishType: FINISH[finish]!,
      Start: metric.Start,
      Last: metric.Last,
      NodeTID: p.nodeTID,
      CaptureID: p.captureID,
      CaptureType: p.captureType,
      Host: p.host,
      SamplingRate: p.samplingRate ?? 1,
      Exporter: p.exporter ? (extra?.ports ? { ...p.exporter, InIfIndex: extra.ports[0], OutIfIndex: extra.ports[1] } : p.exporter) : null,
      Enrichment: null,
    });
  }
}

const u16At = (k: Uint8Array, i: number) => (k[i]! << 8) | k[i + 1]!;
const u32At = (k: Uint8Array, i: number) => ((k[i]! << 24) | (k[i + 1]! << 16) | (k[i + 2]! << 8) | k[i + 3]!) >>> 0;

/** The layers of a flow read back from its key (A/B are the first packet's: canonical order undone). */
function keyLayers(
  key: Uint8Array,
  l3Length: number,
  swapped: boolean,
): { link: FlowLayer | null; network: FlowLayer | null; transport: TransportLayer | null; icmp: { Type: ICMPType; Code: number; ID: number } | null } {
  let network: FlowLayer | null = null;
  let transport: TransportLayer | null = null;
  let icmp: { Type: ICMPType; Code: number; ID: number } | null = null;
  let link: FlowLayer | null = null;
  if (l3Length > 0) {
    const version = key[0]!;
    const proto = key[1]!;
    const alen = version === 4 ? 4 : 16;
    const lo = ipString(key, 2, version as 4 | 6);
    const hi = ipString(key, 2 + alen, version as 4 | 6);
    let q = 2 + 2 * alen;
    const pLo = u16At(key, q);
    const pHi = u16At(key, q + 2);
    q += 4;
    const tp = TRANSPORT_PROTOCOL[proto];
    if (tp) transport = { Protocol: tp, A: swapped ? pHi : pLo, B: swapped ? pLo : pHi, ID: 0 };
    if (proto === 1 || proto === 58) {
      icmp = { Type: ICMP_TYPES[key[q]!] ?? "UNKNOWN", Code: key[q + 1]!, ID: u16At(key, q + 2) };
      q += 4;
    }
    network = { Protocol: version === 4 ? "IPV4" : "IPV6", A: swapped ? hi : lo, B: swapped ? lo : hi, ID: u32At(key, q) };
  }
  if (key.length > l3Length && key[l3Length + 1] === 1) {
    const m = l3Length + 2;
    const lo = macString(key, m);
    const hi = macString(key, m + 6);
    link = { Protocol: "ETHERNET", A: swapped ? hi : lo, B: swapped ? lo : hi, ID: u32At(key, m + 12) };
  }
  return { link, network, transport, icmp };
}

/** Length of an encapsulated packet: its IP total length plus its own Ethernet header when it has one. */
function innerLength(s: Segment, outer: number): number {
  if (s.ip < 0) return outer;
  return s.ipLength + (s.eth >= 0 ? 14 + 4 * s.nVlans : 0);
}

/** -1, 0, 1 as the `n` bytes at `a` sort before, equal, after those at `b`. */
function compareBytes(buf: Uint8Array, a: number, b: number, n: number): number {
  for (let i = 0; i < n; i++) {
    const d = buf[a + i]! - buf[b + i]!;
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

function copy(from: Uint8Array, at: number, n: number, to: Uint8Array, pos: number): number {
  for (let i = 0; i < n; i++) to[pos + i] = from[at + i]!;
  return pos + n;
}

function writeU32(k: Uint8Array, n: number, v: number): number {
  k[n] = v >>> 24;
  k[n + 1] = (v >>> 16) & 255;
  k[n + 2] = (v >>> 8) & 255;
  k[n + 3] = v & 255;
  return n + 4;
}
