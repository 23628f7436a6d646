// A flow's Application, as Skydive named it: the last decoded layer (TCP, UDP, ICMPv4, ARP, VXLAN...), the
// application layer that gopacket decodes from a well-known port (DNS, DHCPv4, NTP...), or a name from the
// configured port map (flow.table.application_ports), which wins.
import type { Packet } from "./packet.js";

/** Application layers gopacket decodes by port, which Skydive shows in LayersPath (Ethernet/IPv4/UDP/DNS). */
const UDP_LAYERS = new Map<number, string>([
  [53, "DNS"],
  [67, "DHCPv4"],
  [68, "DHCPv4"],
  [123, "NTP"],
  [546, "DHCPv6"],
  [547, "DHCPv6"],
  [1812, "RADIUS"],
  [2152, "GTPv1U"],
  [3784, "BFD"],
  [5060, "SIP"],
  [6343, "SFlow"],
]);
const TCP_LAYERS = new Map<number, string>([[53, "DNS"]]);

export interface ApplicationPorts {
  tcp: Map<number, string>;
  udp: Map<number, string>;
}

/** The application layer decoded from a well-known port, if any (appended to LayersPath). */
export function applicationLayer(p: Packet): string | undefined {
  const t = p.transport;
  if (!t || p.inner) return undefined;
  const layers = t.protocol === "UDP" ? UDP_LAYERS : t.protocol === "TCP" ? TCP_LAYERS : undefined;
  return layers?.get(t.srcPort) ?? layers?.get(t.dstPort);
}

/** Skydive's Application: the configured port map (source port first), else the last layer of the path. */
export function applicationOf(p: Packet, lastLayer: string, ports: ApplicationPorts): string {
  const t = p.transport;
  if (t && (t.protocol === "TCP" || t.protocol === "UDP")) {
    const map = t.protocol === "TCP" ? ports.tcp : ports.udp;
    const named = map.get(t.srcPort) ?? map.get(t.dstPort);
    if (named) return named;
  }
  return lastLayer;
}
