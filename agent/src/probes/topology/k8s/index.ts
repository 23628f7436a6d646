import type { TopologyProbeFactory } from "../types.js";
import { k8sConfig, type K8sConfig } from "./config.js";
import { K8sProbe } from "./probe.js";

export const k8s: TopologyProbeFactory<K8sConfig> = {
  name: "k8s",
  description:
    "Kubernetes objects (pods, containers, nodes, services, workloads, policies, volumes) from the API server's list + watch, linked to this host's namespaces",
  config: k8sConfig,
  create: (cfg, deps) => new K8sProbe(cfg, deps),
};
