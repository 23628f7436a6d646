import type { TopologyProbeFactory } from "../types.js";
import { socketinfoConfig, type SocketinfoConfig } from "./config.js";
import { SocketinfoProbe } from "./probe.js";

export const socketinfo: TopologyProbeFactory<SocketinfoConfig> = {
  name: "socketinfo",
  description: "TCP/UDP sockets per network namespace with their process (pid, name, command line)",
  config: socketinfoConfig,
  create: (cfg, deps) => new SocketinfoProbe(cfg, deps),
};
