import type { TopologyProbeFactory } from "../types.js";
import { dockerConfig, type DockerConfig } from "./config.js";
import { DockerProbe } from "./probe.js";

export const docker: TopologyProbeFactory<DockerConfig> = {
  name: "docker",
  description: "running containers from the Docker Engine API (or podman's), linked to their network namespaces",
  config: dockerConfig,
  create: (cfg, deps) => new DockerProbe(cfg, deps),
};
