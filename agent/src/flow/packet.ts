// Packet layers, decoded by hand from the first bytes of a frame (a capture's snaplen or an sFlow sampled
// header): Ethernet, 802.1Q/802.1ad (VLAN ids), MPLS, ARP, IPv4, IPv6 (extension headers), TCP, UDP, SCTP,
// ICMPv4/v6, and the tunnels Skydive splits flows at: VXLAN, Geneve, GRE (with its key). A truncated
// packet decodes as far as its bytes go and says so. No allocation beyond the result objects.

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
  /** Tunnel id (VXLAN/Geneve VNI, GRE key) and the encapsulated packet. */
  tunnelId?: number;
  inner?: Packet;
  /** The bytes ended before the last layer did. */
  truncated: boolean;
}

const hex2 = (b: number) => (b < 16 ? "0" : "") + b.toString(16);

function mac(b: Uint8Array, o: number): string {
  return `${hex2(b[o]!)}:${hex2(b[o + 1]!)}:${hex2(b[o + 2]!)}:${hex2(b[o + 3]!)}:${hex2(b[o + 4]!)}:${hex2(b[o + 5]!)}`;
}

function ipv6(b: Uint8Array, o: number): string {
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

const u16 = (b: Uint8Array, o: number) => (b[o]! << 8) | b[o + 1]!;

const VXLAN_PORT = 4789;
const GENEVE_PORT = 6081;

/** Decodes a frame starting at its Ethernet header (linktype 1, sFlow header protocol 1). */
export function decodeEthernet(b: Uint8Array, start = 0): Packet {
  const p: Packet = { layers: ["Ethernet"], truncated: false };
  if (b.length - start < 14) {
    p.truncated = true;
    return p;
  }
  const vlans: number[] = [];
  let o = start + 12;
  let type = u16(b, o);
  o += 2;
  while (type === 0x8100 || type === 0x88a8 || type === 0x9100) {
    if (o + 4 > b.length) {
      p.truncated = true;
      break;
    }
    vlans.push(u16(b, o) & 0x0fff);
    p.layers.push("Dot1Q");
    type = u16(b, o + 2);
    o += 4;
  }
  p.ethernet = { src: mac(b, start + 6), dst: mac(b, start), vlans, etherType: type };
  if (!p.truncated) network(p, b, o, type);
  return p;
}

/** Decodes a packet starting at its IP header (sFlow header protocols 11 and 12). */
export function decodeIp(b: Uint8Array, start = 0): Packet {
  const p: Packet = { layers: [], truncated: false };
  const version = b.length > start ? b[start]! >> 4 : 0;
  network(p, b, start, version === 6 ? 0x86dd : 0x0800);
  return p;
}

function network(p: Packet, b: Uint8Array, o: number, type: number): void {
  if (type === 0x8847 || type === 0x8848) {
    // MPLS label stack; Skydive splits flows there: the packet under the stack is the inner packet (IPv4/IPv6
    // guessed from its first nibble) and the bottom label is the tunnel id.
    let label = 0;
    for (;;) {
      if (o + 4 > b.length) return void (p.truncated = true);
      p.layers.push("MPLS");
      label = ((b[o]! << 12) | (b[o + 1]! << 4) | (b[o + 2]! >> 4)) >>> 0;
      const bottom = b[o + 2]! & 1;
      o += 4;
      if (bottom) break;
    }
    p.tunnelId = label;
    p.inner = { layers: [], truncated: false };
    if (o >= b.length) p.inner.truncated = true;
    else network(p.inner, b, o, b[o]! >> 4 === 6 ? 0x86dd : 0x0800);
    p.truncated ||= p.inner.truncated;
    return;
  }
  if (type === 0x0806) {
    p.layers.push("ARP");
    return;
  }
  if (type === 0x0800) return ipv4(p, b, o);
  if (type === 0x86dd) return ipv6Layer(p, b, o);
}

function ipv4(p: Packet, b: Uint8Array, o: number): void {
  if (o + 20 > b.length) {
    p.layers.push("IPv4");
    return void (p.truncated = true);
  }
  const ihl = (b[o]! & 0x0f) * 4;
  const flagsFrag = u16(b, o + 6);
  const fragOffset = flagsFrag & 0x1fff;
  p.layers.push("IPv4");
  p.ip = {
    version: 4,
    src: `${b[o + 12]}.${b[o + 13]}.${b[o + 14]}.${b[o + 15]}`,
    dst: `${b[o + 16]}.${b[o + 17]}.${b[o + 18]}.${b[o + 19]}`,
    protocol: b[o + 9]!,
    length: u16(b, o + 2),
    ttl: b[o + 8]!,
    fragment: fragOffset !== 0 || (flagsFrag & 0x2000) !== 0,
  };
  // Only the first fragment carries the transport header.
  if (fragOffset !== 0) return;
  transport(p, b, o + ihl, p.ip.protocol, 4);
}

const IPV6_EXTENSIONS = new Set([0, 43, 60, 51, 135, 139, 140]);

function ipv6Layer(p: Packet, b: Uint8Array, o: number): void {
  p.layers.push("IPv6");
  if (o + 40 > b.length) return void (p.truncated = true);
  let next = b[o + 6]!;
  p.ip = { version: 6, src: ipv6(b, o + 8), dst: ipv6(b, o + 24), protocol: next, length: u16(b, o + 4) + 40, ttl: b[o + 7]!, fragment: false };
  let q = o + 40;
  while (IPV6_EXTENSIONS.has(next) || next === 44) {
    if (q + 8 > b.length) return void (p.truncated = true);
    if (next === 44) {
      p.ip.fragment = true;
      const offset = u16(b, q + 2) >> 3;
      next = b[q]!;
      q += 8;
      if (offset !== 0) {
        p.ip.protocol = next;
        return;
      }
      continue;
    }
    const len = next === 51 ? (b[q + 1]! + 2) * 4 : (b[q + 1]! + 1) * 8;
    next = b[q]!;
    q += len;
  }
  p.ip.protocol = next;
  transport(p, b, q, next, 6);
}

function transport(p: Packet, b: Uint8Array, o: number, proto: number, ipVersion: 4 | 6): void {
  switch (proto) {
    case 6:
      p.layers.push("TCP");
      if (o + 14 > b.length) return void (p.truncated = true);
      p.transport = { protocol: "TCP", srcPort: u16(b, o), dstPort: u16(b, o + 2), flags: b[o + 13]! };
      return;
    case 17: {
      p.layers.push("UDP");
      if (o + 8 > b.length) return void (p.truncated = true);
      const dst = u16(b, o + 2);
      p.transport = { protocol: "UDP", srcPort: u16(b, o), dstPort: dst, flags: 0 };
      if (dst === VXLAN_PORT) return vxlan(p, b, o + 8);
      if (dst === GENEVE_PORT) return geneve(p, b, o + 8);
      return;
    }
    case 132:
      p.layers.push("SCTP");
      if (o + 4 > b.length) return void (p.truncated = true);
      p.transport = { protocol: "SCTP", srcPort: u16(b, o), dstPort: u16(b, o + 2), flags: 0 };
      return;
    case 1:
    case 58: {
      const v = proto === 1 ? 4 : 6;
      p.layers.push(v === 4 ? "ICMPv4" : "ICMPv6");
      if (o + 4 > b.length) return void (p.truncated = true);
      const type = b[o]!;
      const echo = v === 4 ? type === 0 || type === 8 : type === 128 || type === 129;
      p.icmp = { version: v, type, code: b[o + 1]!, id: echo && o + 6 <= b.length ? u16(b, o + 4) : 0 };
      return;
    }
    case 47:
      return gre(p, b, o);
    default:
      void ipVersion;
  }
}

function vxlan(p: Packet, b: Uint8Array, o: number): void {
  p.layers.push("VXLAN");
  if (o + 8 > b.length) return void (p.truncated = true);
  p.tunnelId = (b[o + 4]! << 16) | (b[o + 5]! << 8) | b[o + 6]!;
  p.inner = decodeEthernet(b, o + 8);
  p.truncated ||= p.inner.truncated;
}

function geneve(p: Packet, b: Uint8Array, o: number): void {
  p.layers.push("Geneve");
  if (o + 8 > b.length) return void (p.truncated = true);
  const optLen = (b[o]! & 0x3f) * 4;
  const proto = u16(b, o + 2);
  p.tunnelId = (b[o + 4]! << 16) | (b[o + 5]! << 8) | b[o + 6]!;
  const inner = o + 8 + optLen;
  p.inner = proto === 0x6558 ? decodeEthernet(b, inner) : { layers: [], truncated: false };
  if (proto !== 0x6558) network(p.inner, b, inner, proto);
  p.truncated ||= p.inner.truncated;
}

function gre(p: Packet, b: Uint8Array, o: number): void {
  p.layers.push("GRE");
  if (o + 4 > b.length) return void (p.truncated = true);
  const flags = u16(b, o);
  const proto = u16(b, o + 2);
  let q = o + 4;
  if (flags & 0x8000) q += 4; // checksum + reserved
  if (flags & 0x2000) {
    if (q + 4 > b.length) return void (p.truncated = true);
    p.tunnelId = ((b[q]! << 24) | (b[q + 1]! << 16) | (b[q + 2]! << 8) | b[q + 3]!) >>> 0;
    q += 4;
  }
  if (flags & 0x1000) q += 4; // sequence
  p.inner = proto === 0x6558 ? decodeEthernet(b, q) : { layers: [], truncated: false };
  if (proto !== 0x6558) network(p.inner, b, q, proto);
  p.truncated ||= p.inner.truncated;
}

/** Skydive's LayersPath of a packet, outer layers then the inner packet's. */
export function layersPath(p: Packet): string {
  return p.inner ? `${p.layers.join("/")}/${layersPath(p.inner)}` : p.layers.join("/");
}

/** pcap link types the decoder reads (the values libpcap and pcap files use). */
export const LINKTYPE = { NULL: 0, ETHERNET: 1, RAW: 101, LINUX_SLL: 113, LINUX_SLL2: 276, IPV4: 228, IPV6: 229 } as const;

/** Decodes a captured frame by its pcap link type; undefined for a link type the decoder does not know. */
export function decodeFrame(linkType: number, b: Uint8Array): Packet | undefined {
  switch (linkType) {
    case LINKTYPE.ETHERNET:
      return decodeEthernet(b);
    case LINKTYPE.RAW:
    case 12:
    case LINKTYPE.IPV4:
    case LINKTYPE.IPV6:
      return decodeIp(b);
    case LINKTYPE.LINUX_SLL:
      return fromEtherType(b, 16, b.length >= 16 ? u16(b, 14) : 0);
    case LINKTYPE.LINUX_SLL2:
      return fromEtherType(b, 20, b.length >= 20 ? u16(b, 0) : 0);
    case LINKTYPE.NULL:
      // BSD loopback: a 4-byte address family in host order (2 = IPv4; 24, 28, 30 = IPv6).
      return decodeIp(b, 4);
  }
  return undefined;
}

function fromEtherType(b: Uint8Array, o: number, type: number): Packet {
  const p: Packet = { layers: [], truncated: b.length < o };
  if (!p.truncated) network(p, b, o, type);
  return p;
}
