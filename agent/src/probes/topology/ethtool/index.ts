import { z } from "zod";
import type { TopologyProbeFactory } from "../types.js";
import { EthtoolProbe } from "./probe.js";

const config = z.strictObject({}).prefault({});

export const ethtool: TopologyProbeFactory<z.output<typeof config>> = {
  name: "ethtool",
  description: "driver, firmware, link settings and features of each interface (needs the ethtool command)",
  config,
  create: (_cfg, deps) => new EthtoolProbe(deps),
};
