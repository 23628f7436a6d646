import type { SinkFactory } from "../types.js";
import { clickhouseTopologyConfig, type ClickhouseTopologyConfig } from "./config.js";
import { ClickhouseTopologySink } from "./sink.js";

export const clickhouseTopology: SinkFactory<ClickhouseTopologyConfig> = {
  name: "clickhouse_topology",
  description: "TopologyDeltas from Kafka materialized as the live graph and its full history in ClickHouse (topology_live, topology_archive)",
  config: clickhouseTopologyConfig,
  create: (cfg, deps) => new ClickhouseTopologySink(deps.id, cfg, deps),
};
