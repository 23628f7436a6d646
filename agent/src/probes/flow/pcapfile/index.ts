import type { FlowProbeFactory } from "../types.js";
import { pcapfileConfig, type PcapfileConfig } from "./config.js";
import { PcapFileProbe } from "./probe.js";

export const pcapfile: FlowProbeFactory<PcapfileConfig> = {
  name: "pcapfile",
  description: "Replays a pcap/pcapng file through the flow table (tests, forensics); `skystream agent --pcap FILE`",
  config: pcapfileConfig,
  create: (cfg, deps) => new PcapFileProbe(cfg, deps),
};
