import type { FlowProbeFactory } from "../types.js";
import { sflowConfig, type SflowConfig } from "./config.js";
import { SflowProbe } from "./probe.js";

export const sflow: FlowProbeFactory<SflowConfig> = {
  name: "sflow",
  description: "sFlow v5 collector (UDP): flow samples through the flow table scaled by the sampling rate, counter samples onto interface nodes",
  config: sflowConfig,
  create: (cfg, deps) => new SflowProbe(cfg, deps),
};
