import type { FlowProbeFactory } from "../types.js";
import { syntheticConfig, type SyntheticConfig } from "./config.js";
import { SyntheticFlowProbe } from "./synthetic.js";

export const synthetic: FlowProbeFactory<SyntheticConfig> = {
  name: "synthetic",
  description: "Generated TCP flows at a set rate (no capture needed): for trying the pipeline, tests and benchmarks",
  config: syntheticConfig,
  create: (cfg, deps) => new SyntheticFlowProbe(cfg, deps),
};
