import type { SinkFactory } from "../types.js";
import { clickhouseFlowsConfig, type ClickhouseFlowsConfig } from "./config.js";
import { ClickhouseFlowSink } from "./sink.js";

export const clickhouseFlows: SinkFactory<ClickhouseFlowsConfig> = {
  name: "clickhouse_flows",
  description: "FlowRecords from Kafka into the ClickHouse flows table, in large batches parsed as Avro by ClickHouse",
  config: clickhouseFlowsConfig,
  create: (cfg, deps) => new ClickhouseFlowSink(deps.id, cfg, deps),
};
