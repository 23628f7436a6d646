import type { TopologyProbeFactory } from "../types.js";
import { ovsdbConfig, type OvsdbConfig } from "./config.js";
import { OvsdbProbe } from "./probe.js";

export const ovsdb: TopologyProbeFactory<OvsdbConfig> = {
  name: "ovsdb",
  description: "Open vSwitch bridges, ports, interfaces and patch ports from ovsdb-server (JSON-RPC monitor), live",
  config: ovsdbConfig,
  create: (cfg, deps) => new OvsdbProbe(cfg, deps),
};
