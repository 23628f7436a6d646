import type { TopologyProbeFactory } from "../types.js";
import { fabricConfig, type FabricConfig } from "./config.js";
import { FabricProbe } from "./probe.js";

export const fabric: TopologyProbeFactory<FabricConfig> = {
  name: "fabric",
  description: "static nodes and links from config in Skydive's fabric syntax (switches, cables no probe can see)",
  config: fabricConfig,
  create: (cfg, deps) => new FabricProbe(cfg, deps),
};
