import { hostname } from "node:os";
import { z } from "zod";
import { TOPICS } from "@skystream/schemas";
import { duration, section } from "@skystream/common";
import { flowTableConfig } from "./flow/config.js";
import { flowProbes } from "./probes/flow/registry.js";
import { topologyProbes } from "./probes/topology/registry.js";

export const agentConfig = section({
  /** This host's id in the graph and in flows; defaults to the hostname. */
  host_id: z.string().min(1).default(hostname()),
  topology: section({
    /** Topic topology deltas are published to. */
    topic: z.string().min(1).default(TOPICS.topology),
    /** How often the agent says it is alive (the pipeline retires an origin whose heartbeats stop). */
    heartbeat: duration("2s"),
    /** Topology probes to run, keyed "type" or "type/name". */
    probes: topologyProbes.instancesSchema({ host: {}, netlink: {}, socketinfo: {}, ethtool: {} }),
  }),
  captures: section({
    /** Follow the control topic and run the captures it asks for on this host's nodes. */
    enabled: z.boolean().default(true),
    /** Topic capture orders are read from (from its beginning, at every start). */
    topic: z.string().min(1).default(TOPICS.control),
    /** Address the sFlow collectors of sflow/ovssflow captures bind to (OVS exports there). */
    sflow_address: z.string().default("127.0.0.1"),
    /** OVSDB server that ovssflow captures configure. */
    ovsdb: z.string().default("unix:/var/run/openvswitch/db.sock"),
  }),
  flow: section({
    /** Topic flows are published to. */
    topic: z.string().min(1).default(TOPICS.flows),
    /** Flow records per produce request. */
    batch_size: z.number().int().min(1).max(100_000).default(2000),
    /** Most flow records waiting for Kafka; probes wait beyond it. */
    max_buffered: z.number().int().min(1).default(100_000),
    /** The flow table of every packet source (capture, pcap file, sFlow). */
    table: flowTableConfig,
    /** Flow probes to run, keyed "type" or "type/name". */
    probes: flowProbes.instancesSchema(),
  }),
});

export type AgentConfig = z.output<typeof agentConfig>;
