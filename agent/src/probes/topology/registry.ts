// Every topology probe the agent can run. Adding one: a folder under probes/topology/ and a line here.
import { ComponentRegistry } from "@skystream/common";
import { docker } from "./docker/index.js";
import { ethtool } from "./ethtool/index.js";
import { fabric } from "./fabric/index.js";
import { host } from "./host/index.js";
import { k8s } from "./k8s/index.js";
import { lldp } from "./lldp/index.js";
import { netlink } from "./netlink/index.js";
import { ovsdb } from "./ovsdb/index.js";
import { socketinfo } from "./socketinfo/index.js";
import type { TopologyProbeFactory } from "./types.js";

export const topologyProbes = new ComponentRegistry<TopologyProbeFactory>("topology probe", [
  host,
  netlink,
  socketinfo,
  ethtool,
  ovsdb,
  lldp,
  fabric,
  docker,
  k8s,
]);
