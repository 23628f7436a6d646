import type { TopologyProbeFactory } from "../types.js";
import { lldpConfig, type LldpConfig } from "./config.js";
import { LldpProbe } from "./probe.js";

export const lldp: TopologyProbeFactory<LldpConfig> = {
  name: "lldp",
  description: "LLDP neighbours learnt by lldpd (chassis, port, system name) as switch/switchport nodes linked to local interfaces",
  config: lldpConfig,
  create: (cfg, deps) => new LldpProbe(cfg, deps),
};
