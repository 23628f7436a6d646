import type { TopologyProbeFactory } from "../types.js";
import { netlinkConfig, type NetlinkConfig } from "./config.js";
import { NetlinkProbe } from "./probe.js";

export const netlink: TopologyProbeFactory<NetlinkConfig> = {
  name: "netlink",
  description: "network namespaces and their interfaces (veth, bridge, vxlan, macvlan, ...) with addresses, kept live from kernel events",
  config: netlinkConfig,
  create: (cfg, deps) => new NetlinkProbe(cfg, deps),
};
