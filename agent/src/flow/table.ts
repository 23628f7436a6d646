// The flow table: packets in, Skydive flows out. One table per capture point (a capture on an interface,
// a pcap file, an sFlow exporter's data source).
//
// Per packet: decode is done by the caller; the table builds the canonical key of each segment (outer
// packet, then each encapsulated one: VXLAN, Geneve, GRE, MPLS), finds or creates the flow and counts the
// packet in its direction. Endpoints are ordered canonically in the key, so both directions of a
// conversation meet in one flow, while A/B stay the first packet's source/destination.
// Time is whatever the caller says it is (`advance(now)`): packet time for a replayed file, the clock for a
// live capture. Every `update`, flows that saw packets are emitted with LastUpdateMetric = that period's
// delta; flows idle for `expire` (or their application's timeout), and TCP flows `finished_hold` after
// FIN/RST, are emitted one last time and dropped. Above `max_entries`, the least recently seen flow is
// emitted and evicted (second-chance approximation of LRU: no reordering on the packet path).
import type {
  FlowExporter,
  FlowFinishType,
  FlowLayer,
  FlowMetric,
  FlowProtocol,
  FlowRecord,
  ICMPLayer,
  ICMPType,
  TCPMetric,
  TransportLayer,
} from "@skystream/schemas";
import { applicationLayer, applicationOf, type ApplicationPorts } from "./application.js";
import type { FlowTableConfig } from "./config.js";
import { flowUuid, trackingId } from "./ids.js";
import { FrameView, parseFrame, segmentPacket, type Packet, type Segment } from "./packet.js";

/** Where the table's flows were seen: stamped on every record. */
export interface CapturePoint {
  host: string;
  nodeTID: string;
  captureID: string;
  captureType: string;
  /** 1 in N packets sampled (sFlow); the caller scales counts, this is only reported. */
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

function icmpType(version: 4 | 6, type: number): ICMPType {
  if (version === 4) {
    switch (type) {
      case 0:
      case 8:
        return "ECHO";
      case 3:
        return "DESTINATION_UNREACHABLE";
      case 4:
        return "SOURCE_QUENCH";
      case 5:
        return "REDIRECT";
      case 9:
      case 10:
        return "ROUTER";
      case 11:
        return "TIME_EXCEEDED";
      case 12:
        return "PARAMETER_PROBLEM";
      case 13:
      case 14:
        return "TIMESTAMP";
      case 15:
      case 16:
        return "INFO";
      case 17:
      case 18:
        return "ADDRESS_MASK";
    }
    return "UNKNOWN";
  }
  switch (type) {
    case 1:
      return "DESTINATION_UNREACHABLE";
    case 2:
      return "PACKET_TOO_BIG";
    case 3:
      return "TIME_EXCEEDED";
    case 4:
      return "PARAMETER_PROBLEM";
    case 128:
    case 129:
      return "ECHO";
    case 133:
    case 134:
      return "ROUTER";
    case 135:
    case 136:
      return "NEIGHBOR";
    case 137:
      return "REDIRECT";
  }
  return "UNKNOWN";
}

const ICMP_KINDS = new Map<ICMPType, number>();
/** A number per ICMPType (request and reply of a kind share it), for keys. */
function icmpKind(version: 4 | 6, type: number): number {
  const t = icmpType(version, type);
  let k = ICMP_KINDS.get(t);
  if (k === undefined) ICMP_KINDS.set(t, (k = ICMP_KINDS.size + 1));
  return k;
}

const isEchoRequest = (version: 4 | 6, type: number) => (version === 4 ? type === 8 : type === 128);
const isEchoReply = (version: 4 | 6, type: number) => (version === 4 ? type === 0 : type === 129);

/** One flow's state. Display values are kept as decoded from the first packet; ids are hashed on emission. */
class Flow {
  abPackets = 0;
  abBytes = 0;
  baPackets = 0;
  baBytes = 0;
  last: number;
  rtt = 0;
  /** Time of the unanswered SYN or echo request, 0 when none. */
  rttStart = 0;
  finish = NOT_FINISHED;
  /** Counters at the previous emission (LastUpdateMetric is the difference). */
  sentAbPackets = 0;
  sentAbBytes = 0;
  sentBaPackets = 0;
  sentBaBytes = 0;
  /** Saw packets since the previous update. */
  touched = true;
  /** Saw packets since the eviction scan last passed it. */
  recent = false;
  tcp: TCPMetric | null = null;
  /** The next flow whose key has the same hash. */
  nextSameHash: Flow | undefined = undefined;

  constructor(
    /** The table key: L2+ (or L3+) key, plus the parent flow's key for an encapsulated flow. */
    readonly key: string,
    /** Hash of the own key bytes (and the parent's hash): the packet path's index. */
    readonly hash: number,
    /** Where the flow's own key starts in `key` (after its parent's, for an encapsulated flow). */
    readonly ownOffset: number,
    /** Length of the own key's L3+ part (L3TrackingID) and of its L2+ part (TrackingID). */
    readonly l3Length: number,
    readonly l2Length: number,
    /** Canonical orientation of the first packet: later packets with the same orientation are A→B. */
    readonly swapped: boolean,
    readonly parent: Flow | undefined,
    readonly start: number,
    readonly layersPath: string,
    readonly application: string,
    readonly link: FlowLayer | null,
    readonly network: FlowLayer | null,
    readonly transport: TransportLayer | null,
    readonly icmp: ICMPLayer | null,
    /** Application timeout in ms, 0 for none. */
    readonly timeout: number,
  ) {
    this.last = start;
  }
}

const NETWORK_PROTOCOL: Record<4 | 6, FlowProtocol> = { 4: "IPV4", 6: "IPV6" };

export class FlowTable {
  /** Every flow by key, in insertion order (the eviction scan's order). */
  private readonly flows = new Map<string, Flow>();
  /** Flows by key hash, colliding ones chained: the per-packet lookup. */
  private readonly index = new Map<number, Flow>();
  private out: FlowRecord[] = [];
  private nextUpdate = -1;
  private nextSweep = -1;
  private previousUpdate = -1;
  private readonly sweepEvery: number;
  private readonly appTimeouts: Map<string, number>;
  private readonly ports: ApplicationPorts;
  /** Interned LayersPath and Application strings (a handful of distinct values for millions of flows). */
  private readonly strings = new Map<string, string>();
  readonly stats: FlowTableStats = { packets: 0, bytes: 0, flowsCreated: 0, flowsEvicted: 0, flowsExpired: 0, truncated: 0 };

  constructor(
    private readonly cfg: FlowTableConfig,
    readonly point: CapturePoint,
  ) {
    this.appTimeouts = new Map(Object.entries(cfg.application_timeout).map(([app, ms]) => [app.toLowerCase(), ms]));
    this.ports = cfg.application_ports;
    const timeouts = [cfg.update, cfg.expire, cfg.finished_hold, ...this.appTimeouts.values()].filter((ms) => ms > 0);
    this.sweepEvery = Math.max(100, Math.min(...timeouts) / 2);
  }

  get size(): number {
    return this.flows.size;
  }

  /**
   * Counts one frame, decoded into `view` by parseFrame: `time` in ms (fractions keep µs for RTT), `length`
   * its length on the wire, `scale` how many packets it stands for (an sFlow sampling rate: packets and
   * bytes are multiplied by it).
   */
  frame(view: FrameView, time: number, length: number, scale = 1): void {
    // Time moves first: a packet after its flow's expiry starts a new flow.
    if (time >= this.nextSweep || time >= this.nextUpdate) this.advance(time);
    this.stats.packets += scale;
    this.stats.bytes += length * scale;
    if (view.truncated) this.stats.truncated++;
    let parent: Flow | undefined;
    for (let i = 0; i < view.count; i++) {
      if (i > 0) length = innerLength(view.segments[i]!, length);
      parent = this.segment(view, i, time, length, scale, parent);
    }
  }

  /** Decodes and counts a frame of a pcap link type (convenience for tests and sampled headers). */
  bytes(linkType: number, data: Uint8Array, time: number, length: number, scale = 1): boolean {
    if (!parseFrame(linkType, data, 0, data.length, this.view)) return false;
    this.frame(this.view, time, length, scale);
    return true;
  }
  private readonly view = new FrameView();

  /**
   * The segment's key, written as bytes and read back as a one-byte string (the Map key): the L3+ part
   * (IP version and protocol, the two addresses in canonical order, ports in the same order, ICMP kind,
   * code and id, tunnel id), then in L2 mode or without IP the L2 part (MACs in canonical order, VLAN
   * ids, last layer, tunnel id). Canonical order: byte comparison of the addresses, ports breaking ties.
   */
  private segment(view: FrameView, i: number, time: number, length: number, scale: number, parent: Flow | undefined): Flow {
    const s = view.segments[i]!;
    const b = view.bytes;
    const k = this.keyBytes;
    let n = 0;
    let swapped = false;
    if (s.ip >= 0) {
      const v4 = s.ipVersion === 4;
      const alen = v4 ? 4 : 16;
      const src = v4 ? s.ip + 12 : s.ip + 8;
      const dst = src + alen;
      // The outer UDP flow of VXLAN/Geneve: the source port is per-flow entropy and both directions go to
      // the tunnel port, so the key holds the tunnel port alone.
      const tunnel = i + 1 < view.count && s.transport === 17;
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
      if (s.icmpType >= 0) {
        k[n++] = icmpKind(s.ipVersion as 4 | 6, s.icmpType);
        k[n++] = s.icmpCode;
        k[n++] = s.icmpId >> 8;
        k[n++] = s.icmpId & 255;
      }
      n = writeU32(k, n, s.tunnelId >= 0 ? s.tunnelId : 0);
    }
    const l3Length = n;
    if (s.ip < 0 || this.cfg.layer_key_mode === "L2") {
      k[n++] = 0xff;
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
    // Looked up by a hash of the key bytes (no string per packet), confirmed against the flow's own key.
    let h = 0x811c9dc5;
    for (let j = 0; j < n; j++) h = Math.imul(h ^ k[j]!, 16777619);
    if (parent) h = Math.imul(h ^ parent.hash, 16777619);
    h |= 0;
    let f = this.index.get(h);
    while (f !== undefined && !(f.parent === parent && sameKey(f, k, n))) f = f.nextSameHash;
    if (f === undefined) {
      const own = k.latin1Slice(0, n);
      const key = parent ? `${parent.key}\u0001${parent.start}\u0001${own}` : own;
      f = this.create(key, h, key.length - n, l3Length, n, swapped, parent, segmentPacket(view, i), time);
    } else f.recent = true;
    f.touched = true;
    if (time > f.last) f.last = time;

    const ab = swapped === f.swapped;
    if (ab) {
      f.abPackets += scale;
      f.abBytes += length * scale;
    } else {
      f.baPackets += scale;
      f.baBytes += length * scale;
    }

    if (s.transport === 6) this.tcp(f, s.flags, time, ab, s.ttl);
    else if (s.icmpType >= 0) {
      if (isEchoRequest(s.ipVersion as 4 | 6, s.icmpType)) {
        if (f.rttStart === 0) f.rttStart = time;
      } else if (isEchoReply(s.ipVersion as 4 | 6, s.icmpType) && f.rttStart !== 0) {
        f.rtt = Math.round((time - f.rttStart) * 1e6);
        f.rttStart = 0;
      }
    }
    return f;
  }
  private readonly keyBytes = Buffer.alloc(512) as Buffer & { latin1Slice(start: number, end: number): string };

  private tcp(f: Flow, flags: number, time: number, ab: boolean, ttl: number): void {
    const syn = (flags & TCP_FLAG_SYN) !== 0;
    const rst = (flags & TCP_FLAG_RST) !== 0;
    const fin = (flags & TCP_FLAG_FIN) !== 0;
    if (syn && f.rttStart === 0 && (flags & TCP_FLAG_ACK) === 0) f.rttStart = time;
    else if (f.rttStart !== 0 && ((syn && (flags & TCP_FLAG_ACK) !== 0) || rst)) {
      f.rtt = Math.round((time - f.rttStart) * 1e6);
      f.rttStart = 0;
    }
    if (rst) f.finish = TCP_RST;
    else if (fin && f.finish !== TCP_RST) f.finish = TCP_FIN;
    const m = f.tcp;
    if (m) {
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
  }

  private intern(s: string): string {
    const known = this.strings.get(s);
    if (known !== undefined) return known;
    if (this.strings.size < 10_000) this.strings.set(s, s);
    return s;
  }

  private create(
    key: string,
    hash: number,
    ownOffset: number,
    l3Length: number,
    l2Length: number,
    swapped: boolean,
    parent: Flow | undefined,
    seg: Packet,
    time: number,
  ): Flow {
    if (this.flows.size >= this.cfg.max_entries) this.evictOne(time);
    const app = applicationLayer(seg);
    const lastLayer = app ?? seg.layers[seg.layers.length - 1] ?? "";
    const path = this.intern(app ? `${seg.layers.join("/")}/${app}` : seg.layers.join("/"));
    const application = this.intern(applicationOf(seg, lastLayer, this.ports));
    const eth = seg.ethernet;
    const ip = seg.ip;
    const t = seg.transport;
    const icmp = seg.icmp;
    const f = new Flow(
      key,
      hash,
      ownOffset,
      l3Length,
      l2Length,
      swapped,
      parent,
      time,
      path,
      application,
      eth ? { Protocol: "ETHERNET", A: eth.src, B: eth.dst, ID: vlanId(eth.vlans) } : null,
      ip ? { Protocol: NETWORK_PROTOCOL[ip.version], A: ip.src, B: ip.dst, ID: seg.tunnelId ?? 0 } : null,
      t ? { Protocol: t.protocol, A: t.srcPort, B: t.dstPort, ID: 0 } : null,
      icmp ? { Type: icmpType(icmp.version, icmp.type), Code: icmp.code, ID: icmp.id } : null,
      this.appTimeouts.get(application.toLowerCase()) ?? 0,
    );
    if (this.cfg.extra_tcp_metric && t && t.protocol === "TCP") {
      f.tcp = { ABSynStart: 0, BASynStart: 0, ABSynTTL: 0, BASynTTL: 0, ABFinStart: 0, BAFinStart: 0, ABRstStart: 0, BARstStart: 0 };
    }
    this.flows.set(key, f);
    f.nextSameHash = this.index.get(hash);
    this.index.set(hash, f);
    this.stats.flowsCreated++;
    return f;
  }

  /** Emits and drops the least recently seen flow (second chance: recently seen ones move to the back). */
  private evictOne(now: number): void {
    for (const [key, f] of this.flows) {
      this.flows.delete(key);
      if (f.recent) {
        f.recent = false;
        this.flows.set(key, f);
        continue;
      }
      this.unindex(f);
      this.stats.flowsEvicted++;
      this.emit(f, now, f.finish);
      return;
    }
  }

  private unindex(f: Flow): void {
    const head = this.index.get(f.hash);
    if (head === f) {
      if (f.nextSameHash) this.index.set(f.hash, f.nextSameHash);
      else this.index.delete(f.hash);
      return;
    }
    for (let p = head; p; p = p.nextSameHash) {
      if (p.nextSameHash === f) {
        p.nextSameHash = f.nextSameHash;
        return;
      }
    }
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
      for (const f of this.flows.values()) if (f.touched) this.emit(f, now, f.finish);
      this.previousUpdate = now;
      this.nextUpdate = now + this.cfg.update;
    }
  }

  private sweep(now: number): void {
    const { expire, finished_hold: hold } = this.cfg;
    for (const [key, f] of this.flows) {
      const idle = now - f.last;
      let finish = -1;
      if (f.finish !== NOT_FINISHED && idle >= hold) finish = f.finish;
      else if ((f.timeout > 0 && idle >= f.timeout) || idle >= expire) finish = TIMEOUT;
      if (finish < 0) continue;
      this.flows.delete(key);
      this.unindex(f);
      this.stats.flowsExpired++;
      this.emit(f, now, finish);
    }
  }

  /** Emits every flow as it stands and empties the table (end of a replayed file, agent stop). */
  flush(now: number): void {
    for (const f of this.flows.values()) this.emit(f, now, f.finish);
    this.flows.clear();
    this.index.clear();
  }

  /** The records emitted since the last call. */
  drain(): FlowRecord[] {
    const out = this.out;
    this.out = [];
    return out;
  }

  private emit(f: Flow, now: number, finish: number): void {
    const p = this.point;
    const periodStart = Math.floor(Math.max(this.previousUpdate, f.start));
    const metric: FlowMetric = {
      ABPackets: f.abPackets,
      ABBytes: f.abBytes,
      BAPackets: f.baPackets,
      BABytes: f.baBytes,
      Start: Math.floor(f.start),
      Last: Math.floor(f.last),
      RTT: f.rtt,
    };
    const lastUpdate: FlowMetric = {
      ABPackets: f.abPackets - f.sentAbPackets,
      ABBytes: f.abBytes - f.sentAbBytes,
      BAPackets: f.baPackets - f.sentBaPackets,
      BABytes: f.baBytes - f.sentBaBytes,
      Start: Math.min(periodStart, Math.floor(now)),
      Last: Math.floor(now),
      RTT: f.rtt,
    };
    f.sentAbPackets = f.abPackets;
    f.sentAbBytes = f.abBytes;
    f.sentBaPackets = f.baPackets;
    f.sentBaBytes = f.baBytes;
    f.touched = false;
    this.out.push({
      UUID: flowUuid(f.key, f.start, p.nodeTID),
      TrackingID: trackingId(f.key.slice(f.ownOffset, f.ownOffset + f.l2Length)),
      L3TrackingID: trackingId(f.key.slice(f.ownOffset, f.ownOffset + f.l3Length)),
      ParentUUID: f.parent ? flowUuid(f.parent.key, f.parent.start, p.nodeTID) : "",
      LayersPath: f.layersPath,
      Application: f.application,
      Link: f.link,
      Network: f.network,
      Transport: f.transport,
      ICMP: f.icmp,
      Metric: metric,
      LastUpdateMetric: lastUpdate,
      TCPMetric: f.tcp ? { ...f.tcp } : null,
      IPMetric: null,
      FinishType: FINISH[finish]!,
      Start: metric.Start,
      Last: metric.Last,
      NodeTID: p.nodeTID,
      CaptureID: p.captureID,
      CaptureType: p.captureType,
      Host: p.host,
      SamplingRate: p.samplingRate ?? 1,
      Exporter: p.exporter ?? null,
      Enrichment: null,
    });
  }
}

/** VLAN ids stacked 12 bits each, outermost first (Skydive's Link.ID). */
function vlanId(vlans: number[]): number {
  let id = 0;
  for (const v of vlans) id = id * 4096 + v;
  return id;
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

/** The flow's own key equals the `n` key bytes. */
function sameKey(f: Flow, k: Uint8Array, n: number): boolean {
  const key = f.key;
  const o = f.ownOffset;
  if (key.length - o !== n) return false;
  for (let i = 0; i < n; i++) if (key.charCodeAt(o + i) !== k[i]) return false;
  return true;
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
