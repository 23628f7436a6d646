// The one Skystream config: every section, every component, validated together at start.
import { z } from "zod";
import { TOPICS } from "@skystream/schemas";
import { busConfig, kafkaConfig, logConfig, metricsConfig, section } from "@skystream/common";
import { agentConfig } from "@skystream/agent";
import { clickhouseConfig } from "./storage/clickhouse/index.js";
import { apiConfig } from "./api/config.js";
import { schemaRegistryConfig } from "./schema-registry/config.js";
import { sinks } from "./sinks/registry.js";

export const pipelineConfig = section({
  /** Kafka consumer group shared by every pipeline process of a deployment. */
  group_id: z.string().min(1).default("skystream-pipeline"),
  /** Where records that cannot be processed are copied. */
  dlq_topic: z.string().min(1).default(TOPICS.dlq),
  /** Sinks to run, keyed "type" or "type/name". */
  sinks: sinks.instancesSchema({ clickhouse_flows: {}, clickhouse_topology: {} }),
});

export const skystreamConfig = z.strictObject({
  log: logConfig,
  metrics: metricsConfig,
  bus: busConfig,
  kafka: kafkaConfig,
  schema_registry: schemaRegistryConfig,
  clickhouse: clickhouseConfig,
  pipeline: pipelineConfig,
  api: apiConfig,
  agent: agentConfig,
});

export type SkystreamConfig = z.output<typeof skystreamConfig>;
