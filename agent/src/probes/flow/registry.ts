// Every flow probe the agent can run. Adding one: a folder under probes/flow/ and a line here.
import { ComponentRegistry } from "@skystream/common";
import { afpacket, pcap } from "./pcap/index.js";
import { pcapfile } from "./pcapfile/index.js";
import { sflow } from "./sflow/index.js";
import { synthetic } from "./synthetic/index.js";
import type { FlowProbeFactory } from "./types.js";

export const flowProbes = new ComponentRegistry<FlowProbeFactory>("flow probe", [synthetic, pcapfile, pcap, afpacket, sflow]);
