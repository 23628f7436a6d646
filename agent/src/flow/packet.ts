// Packet layers, decoded by hand from the first bytes of a frame (a capture's snaplen or an sFlow sampled
// header): Ethernet, 802.1Q/802.1ad (VLAN ids), MPLS, ARP, IPv4, IPv6 (extension headers), TCP, UDP, SCTP,
// ICMPv4/v6, and the encapsulations Skydive splits flows at: VXLAN, Geneve, GRE (with its key), MPLS.
//
// Two shapes of the same decode:
// - `parseFrame` fills a reusable FrameView with offsets and numbers, no allocation: the flow table's
//   per-packet path, which reads addresses straight from the bytes;
// - `decodeEthernet` / `decodeIp` / `decodeFrame` return a Packet with strings (MACs, IPs, layer names):
//   for flow creation, sFlow records and tests. They are the view turned into objects.
// A truncated packet decodes as far as its bytes go and says so.

export interface EthernetLayer {
  src: string;
  dst: string;
  vlans: number[];
  etherType: number;
}

export interface IpLayer {
  version: 4 | 6;
  src: string;
  dst: string;
  protocol: number;
  /** Total length from the IP header (the original packet's, not the captured bytes'). */
  length: number;
  ttl: number;
  fragment: boolean;
}

export interface TransportPorts {
  protocol: "TCP" | "UDP" | "SCTP";
  srcPort: number;
  dstPort: number;
  /** TCP flags byte (FIN 1, SYN 2, RST 4, PSH 8, ACK 16). */
  flags: number;
}

export interface IcmpLayer {
  version: 4 | 6;
  type: number;
  code: number;
  id: number;
}

export interface Packet {
  /** Skydive's LayersPath pieces: Ethernet, Dot1Q, MPLS, ARP, IPv4, IPv6, TCP, UDP, SCTP, ICMPv4, ICMPv6, VXLAN, Geneve, GRE. */
  layers: string[];
  ethernet?: EthernetLayer;
  ip?: IpLayer;
  transport?: TransportPorts;
  icmp?: IcmpLayer;
  /** Tunnel id (VXLAN/Geneve VNI, GRE key, bottom MPLS label) and the encapsulated packet. */
  tunnelId?: number;
  inner?: Packet;
  /** The bytes ended before the last layer did. */
  truncated: boolean;
}

/** Layer codes of a Segment's path. */
export const LAYER = {
  Ethernet: 1,
  Dot1Q: 2,
  MPLS: 3,
  ARP: 4,
  IPv4: 5,
  IPv6: 6,
  TCP: 7,
  UDP: 8,
  SCTP: 9,
  ICMPv4: 10,
  ICMPv6: 11,
  VXLAN: 12,
  Geneve: 13,
  GRE: 14,
} as const;
export const LAYER_NAMES = ["", "Ethernet", "Dot1Q", "MPLS", "ARP", "IPv4", "IPv6", "TCP", "UDP", "SCTP", "ICMPv4", "ICMPv6", "VXLAN", "Geneve", "GRE"];

const MAX_LAYERS = 24;
const MAX_SEGMENTS = 6;

/** One packet segment (the outer packet, or one encapsulated in it): offsets into the frame and numbers. */
export class Segment {
  layers = new Uint8Array(MAX_LAYERS);
  nLayers = 0;
  /** Offset of the Ethernet header, -1 without one. */
  eth = -1;
  /** VLAN ids stacked 12 bits each, outermost first (Skydive's Link.ID), and how many tags. */
  vlanId = 0;
  nVlans = 0;
  etherType = 0;
  /** Offset of the IP header, -1 without one; its fields. */
  ip = -1;
  ipVersion: 0 | 4 | 6 = 0;
  protocol = 0;
  ipLength = 0;
  ttl = 0;
  fragment = false;
  /** Transport: 0, or 6/17/132 with ports (and TCP flags). */
  transport = 0;
  srcPort = 0;
  dstPort = 0;
  flags = 0;
  /** ICMP type, -1 without ICMP. */
  icmpType = -1;
  icmpCode = 0;
  icmpId = 0;
  /** Tunnel id when an encapsulated segment follows this one, -1 otherwise. */
  tunnelId = -1;
  truncated = false;

  reset(): void {
    this.nLayers = 0;
    this.eth = -1;
    this.vlanId = 0;
    this.nVlans = 0;
    this.etherType = 0;
    this.ip = -1;
    this.ipVersion = 0;
    this.protocol = 0;
    this.ipLength = 0;
    this.ttl = 0;
    this.fragment = false;
    this.transport = 0;
    this.srcPort = 0;
    this.dstPort = 0;
    this.flags = 0;
    this.icmpType = -1;
    this.icmpCode = 0;
    this.icmpId = 0;
    this.tunnelId = -1;
    this.truncated = false;
  }

  push(layer: number): void {
    if (this.nLayers < MAX_LAYERS) this.layers[this.nLayers++] = layer;
  }

  get lastLayer(): number {
    return this.nLayers > 0 ? this.layers[this.nLayers - 1]! : 0;
  }
}

/** A decoded frame: its segments, outer first. Reused from packet to packet. */
export class FrameView {
  readonly segments: Segment[] = Array.from({ length: MAX_SEGMENTS }, () => new Segment());
  count = 0;
  bytes: Uint8Array = new Uint8Array(0);
  /** The frame's bytes end here (exclusive). */
  end = 0;

  get truncated(): boolean {
    for (let i = 0; i < this.count; i++) if (this.segments[i]!.truncated) return true;
    return false;
  }

  /** A fresh segment, or undefined beyond the nesting limit. */
  next(): Segment | undefined {
    if (this.count >= MAX_SEGMENTS) return undefined;
    const s = this.segments[this.count++]!;
    s.reset();
    return s;
  }
}

const u16 = (b: Uint8Array, o: number) => (b[o]! << 8) | b[o + 1]!;

const VXLAN_PORT = 4789;
const GENEVE_PORT = 6081;

/** pcap link types the decoder reads (the values libpcap and pcap files use). */
export const LINKTYPE = { NULL: 0, ETHERNET: 1, RAW: 101, LINUX_SLL: 113, LINUX_SLL2: 276, IPV4: 228, IPV6: 229 } as const;

/** Parses a frame of a pcap link type into `view`; false for a link type the decoder does not know. */
export function parseFrame(linkType: number, b: Uint8Array, start: number, end: number, view: FrameView): boolean {
  view.count = 0;
  view.bytes = b;
  view.end = end;
  const s = view.next()!;
  switch (linkType) {
    case LINKTYPE.ETHERNET:
      ethernet(view, s, b, start, end);
      return true;
    case LINKTYPE.RAW:
    case 12:
    case LINKTYPE.IPV4:
    case LINKTYPE.IPV6:
      ipByVersion(view, s, b, start, end);
      return true;
    case LINKTYPE.LINUX_SLL:
      if (end - start < 16) s.truncated = true;
      else network(view, s, b, start + 16, end, u16(b, start + 14));
      return true;
    case LINKTYPE.LINUX_SLL2:
      if (end - start < 20) s.truncated = true;
      else network(view, s, b, start + 20, end, u16(b, start));
      return true;
    case LINKTYPE.NULL:
      // BSD loopback: a 4-byte address family in host order, then IP.
      ipByVersion(view, s, b, start + 4, end);
      return true;
  }
  view.count = 0;
  return false;
}

function ipByVersion(view: FrameView, s: Segment, b: Uint8Array, o: number, end: number): void {
  if (o >= end) {
    s.truncated = true;
    return;
  }
  network(view, s, b, o, end, b[o]! >> 4 === 6 ? 0x86dd : 0x0800);
}

function ethernet(view: FrameView, s: Segment, b: Uint8Array, start: number, end: number): void {
  s.push(LAYER.Ethernet);
  if (end - start < 14) {
    s.truncated = true;
    return;
  }
  s.eth = start;
  let o = start + 12;
  let type = u16(b, o);
  o += 2;
  while (type === 0x8100 || type === 0x88a8 || type === 0x9100) {
    if (o + 4 > end) {
      s.truncated = true;
      s.etherType = type;
      return;
    }
    s.vlanId = s.vlanId * 4096 + (u16(b, o) & 0x0fff);
    s.nVlans++;
    s.push(LAYER.Dot1Q);
    type = u16(b, o + 2);
    o += 4;
  }
  s.etherType = type;
  network(view, s, b, o, end, type);
}

function network(view: FrameView, s: Segment, b: Uint8Array, o: number, end: number, type: number): void {
  switch (type) {
    case 0x0800:
      return ipv4(view, s, b, o, end);
    case 0x86dd:
      return ipv6(view, s, b, o, end);
    case 0x0806:
      s.push(LAYER.ARP);
      return;
    case 0x8847:
    case 0x8848: {
      // MPLS label stack; Skydive splits flows there: the packet under the stack is an inner segment
      // (IPv4/IPv6 guessed from its first nibble) and the bottom label is the tunnel id.
      let label = 0;
      for (;;) {
        if (o + 4 > end) {
          s.truncated = true;
          return;
        }
        s.push(LAYER.MPLS);
        label = ((b[o]! << 12) | (b[o + 1]! << 4) | (b[o + 2]! >> 4)) >>> 0;
        const bottom = b[o + 2]! & 1;
        o += 4;
        if (bottom) break;
      }
      s.tunnelId = label;
      const inner = view.next();
      if (inner) ipByVersion(view, inner, b, o, end);
      return;
    }
  }
}

function ipv4(view: FrameView, s: Segment, b: Uint8Array, o: number, end: number): void {
  s.push(LAYER.IPv4);
  if (o + 20 > end) {
    s.truncated = true;
    return;
  }
  const ihl = (b[o]! & 0x0f) * 4;
  const flagsFrag = u16(b, o + 6);
  const fragOffset = flagsFrag & 0x1fff;
  s.ip = o;
  s.ipVersion = 4;
  s.protocol = b[o + 9]!;
  s.ipLength = u16(b, o + 2);
  s.ttl = b[o + 8]!;
  s.fragment = fragOffset !== 0 || (flagsFrag & 0x2000) !== 0;
  // Only the first fragment carries the transport header.
  if (fragOffset !== 0) return;
  transport(view, s, b, o + ihl, end, s.protocol);
}

function isIpv6Extension(next: number): boolean {
  return next === 0 || next === 43 || next === 60 || next === 51 || next === 135 || next === 139 || next === 140;
}

function ipv6(view: FrameView, s: Segment, b: Uint8Array, o: number, end: number): void {
  s.push(LAYER.IPv6);
  if (o + 40 > end) {
    s.truncated = true;
    return;
  }
  let next = b[o + 6]!;
  s.ip = o;
  s.ipVersion = 6;
  s.ipLength = u16(b, o + 4) + 40;
  s.ttl = b[o + 7]!;
  let q = o + 40;
  while (isIpv6Extension(next) || next === 44) {
    if (q + 8 > end) {
      s.protocol = next;
      s.truncated = true;
      return;
    }
    if (next === 44) {
      s.fragment = true;
      const offset = u16(b, q + 2) >> 3;
      next = b[q]!;
      q += 8;
      if (offset !== 0) {
        s.protocol = next;
        return;
      }
      continue;
    }
    const len = next === 51 ? (b[q + 1]! + 2) * 4 : (b[q + 1]! + 1) * 8;
    next = b[q]!;
    q += len;
  }
  s.protocol = next;
  transport(view, s, b, q, end, next);
}

function transport(view: FrameView, s: Segment, b: Uint8Array, o: number, end: number, proto: number): void {
  switch (proto) {
    case 6:
      s.push(LAYER.TCP);
      if (o + 14 > end) {
        s.truncated = true;
        return;
      }
      s.transport = 6;
      s.srcPort = u16(b, o);
      s.dstPort = u16(b, o + 2);
      s.flags = b[o + 13]!;
      return;
    case 17:
      s.push(LAYER.UDP);
      if (o + 8 > end) {
        s.truncated = true;
        return;
      }
      s.transport = 17;
      s.srcPort = u16(b, o);
      s.dstPort = u16(b, o + 2);
      if (s.dstPort === VXLAN_PORT) vxlan(view, s, b, o + 8, end);
      else if (s.dstPort === GENEVE_PORT) geneve(view, s, b, o + 8, end);
      return;
    case 132:
      s.push(LAYER.SCTP);
      if (o + 4 > end) {
        s.truncated = true;
        return;
      }
      s.transport = 132;
      s.srcPort = u16(b, o);
      s.dstPort = u16(b, o + 2);
      return;
    case 1:
    case 58: {
      const v4 = proto === 1;
      s.push(v4 ? LAYER.ICMPv4 : LAYER.ICMPv6);
      if (o + 4 > end) {
        s.truncated = true;
        return;
      }
      const type = b[o]!;
      s.icmpType = type;
      s.icmpCode = b[o + 1]!;
      const echo = v4 ? type === 0 || type === 8 : type === 128 || type === 129;
      s.icmpId = echo && o + 6 <= end ? u16(b, o + 4) : 0;
      return;
    }
    case 47:
      return gre(view, s, b, o, end);
  }
}

function vxlan(view: FrameView, s: Segment, b: Uint8Array, o: number, end: number): void {
  s.push(LAYER.VXLAN);
  if (o + 8 > end) {
    s.truncated = true;
    return;
  }
  s.tunnelId = (b[o + 4]! << 16) | (b[o + 5]! << 8) | b[o + 6]!;
  const inner = view.next();
  if (inner) ethernet(view, inner, b, o + 8, end);
}

function geneve(view: FrameView, s: Segment, b: Uint8Array, o: number, end: number): void {
  s.push(LAYER.Geneve);
  if (o + 8 > end) {
    s.truncated = true;
    return;
  }
  const optLen = (b[o]! & 0x3f) * 4;
  const proto = u16(b, o + 2);
  s.tunnelId = (b[o + 4]! << 16) | (b[o + 5]! << 8) | b[o + 6]!;
  const inner = view.next();
  if (!inner) return;
  if (proto === 0x6558) ethernet(view, inner, b, o + 8 + optLen, end);
  else network(view, inner, b, o + 8 + optLen, end, proto);
}

function gre(view: FrameView, s: Segment, b: Uint8Array, o: number, end: number): void {
  s.push(LAYER.GRE);
  if (o + 4 > end) {
    s.truncated = true;
    return;
  }
  const flags = u16(b, o);
  const proto = u16(b, o + 2);
  let q = o + 4;
  if (flags & 0x8000) q += 4; // checksum + reserved
  s.tunnelId = 0;
  if (flags & 0x2000) {
    if (q + 4 > end) {
      s.truncated = true;
      return;
    }
    s.tunnelId = ((b[q]! << 24) | (b[q + 1]! << 16) | (b[q + 2]! << 8) | b[q + 3]!) >>> 0;
    q += 4;
  }
  if (flags & 0x1000) q += 4; // sequence
  const inner = view.next();
  if (!inner) return;
  if (proto === 0x6558) ethernet(view, inner, b, q, end);
  else network(view, inner, b, q, end, proto);
}

// --- The Packet shape: strings, for flow creation, sFlow records and tests.

const hex2 = (b: number) => (b < 16 ? "0" : "") + b.toString(16);

export function macString(b: Uint8Array, o: number): string {
  return `${hex2(b[o]!)}:${hex2(b[o + 1]!)}:${hex2(b[o + 2]!)}:${hex2(b[o + 3]!)}:${hex2(b[o + 4]!)}:${hex2(b[o + 5]!)}`;
}

export function ipString(b: Uint8Array, o: number, version: 4 | 6): string {
  if (version === 4) return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((b[o + i]! << 8) | b[o + i + 1]!);
  // RFC 5952: longest run of zero groups (2+) as "::".
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
}

const TRANSPORT_NAMES: Record<number, TransportPorts["protocol"]> = { 6: "TCP", 17: "UDP", 132: "SCTP" };

/** One segment of a view as a Packet (without its inner segments). */
export function segmentPacket(view: FrameView, i: number): Packet {
  const s = view.segments[i]!;
  const b = view.bytes;
  const p: Packet = { layers: Array.from(s.layers.subarray(0, s.nLayers), (l) => LAYER_NAMES[l]!), truncated: s.truncated };
  if (s.eth >= 0) {
    const vlans: number[] = [];
    for (let k = 0, o = s.eth + 14; k < s.nVlans; k++, o += 4) vlans.push(u16(b, o) & 0x0fff);
    p.ethernet = { src: macString(b, s.eth + 6), dst: macString(b, s.eth), vlans, etherType: s.etherType };
  }
  if (s.ip >= 0) {
    const v = s.ipVersion as 4 | 6;
    p.ip = {
      version: v,
      src: ipString(b, v === 4 ? s.ip + 12 : s.ip + 8, v),
      dst: ipString(b, v === 4 ? s.ip + 16 : s.ip + 24, v),
      protocol: s.protocol,
      length: s.ipLength,
      ttl: s.ttl,
      fragment: s.fragment,
    };
  }
  if (s.transport) p.transport = { protocol: TRANSPORT_NAMES[s.transport]!, srcPort: s.srcPort, dstPort: s.dstPort, flags: s.flags };
  if (s.icmpType >= 0) p.icmp = { version: s.ipVersion === 6 ? 6 : 4, type: s.icmpType, code: s.icmpCode, id: s.icmpId };
  if (s.tunnelId >= 0) p.tunnelId = s.tunnelId;
  return p;
}

/** The whole view as a Packet chain (inner packets under `inner`; truncation propagates outwards). */
export function viewPacket(view: FrameView): Packet {
  let inner: Packet | undefined;
  for (let i = view.count - 1; i >= 0; i--) {
    const p = segmentPacket(view, i);
    if (inner) {
      p.inner = inner;
      p.truncated ||= inner.truncated;
    }
    inner = p;
  }
  return inner ?? { layers: [], truncated: true };
}

const scratch = new FrameView();

/** Decodes a frame by its pcap link type; undefined for a link type the decoder does not know. */
export function decodeFrame(linkType: number, b: Uint8Array): Packet | undefined {
  return parseFrame(linkType, b, 0, b.length, scratch) ? viewPacket(scratch) : undefined;
}

/** Decodes a frame starting at its Ethernet header (linktype 1, sFlow header protocol 1). */
export function decodeEthernet(b: Uint8Array, start = 0): Packet {
  parseFrame(LINKTYPE.ETHERNET, b, start, b.length, scratch);
  return viewPacket(scratch);
}

/** Decodes a packet starting at its IP header (sFlow header protocols 11 and 12). */
export function decodeIp(b: Uint8Array, start = 0): Packet {
  parseFrame(LINKTYPE.RAW, b, start, b.length, scratch);
  return viewPacket(scratch);
}

/** Skydive's LayersPath of a packet, outer layers then the inner packet's. */
export function layersPath(p: Packet): string {
  return p.inner ? `${p.layers.join("/")}/${layersPath(p.inner)}` : p.layers.join("/");
}
