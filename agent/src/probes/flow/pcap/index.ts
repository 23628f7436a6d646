// Live capture with libpcap: `pcap`, and `afpacket` (the same mechanism: on Linux libpcap reads an
// AF_PACKET TPACKET_V3 ring, which is what Skydive's afpacket probe used).
import type { FlowProbeFactory } from "../types.js";
import { captureConfig, type CaptureConfig } from "./config.js";
import { CaptureProbe } from "./probe.js";

export const pcap: FlowProbeFactory<CaptureConfig> = {
  name: "pcap",
  description: "Live capture on an interface (libpcap), in any network namespace, through the flow table",
  config: captureConfig,
  create: (cfg, deps) => new CaptureProbe(cfg, deps, "pcap"),
};

export const afpacket: FlowProbeFactory<CaptureConfig> = {
  name: "afpacket",
  description: "Live capture on an interface through libpcap's AF_PACKET ring (same as pcap on Linux)",
  config: captureConfig,
  create: (cfg, deps) => new CaptureProbe(cfg, deps, "afpacket"),
};
