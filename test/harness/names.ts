import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Topic, group and directory names of one test, so tests never see each other's data. */
export function testNames(prefix: string) {
  const id = `${prefix}-${randomBytes(4).toString("hex")}`;
  return {
    id,
    flows: `${id}.flows`,
    topology: `${id}.topology`,
    enriched: `${id}.enriched`,
    dlq: `${id}.dlq`,
    group: `${id}-pipeline`,
    dataDir: mkdtempSync(join(tmpdir(), `skystream-${prefix}-`)),
  };
}

/**
 * SKYSTREAM_* variables for a pipeline on those names: the flows sink (with `sink` overrides) and, when
 * `topologySink` is given, the topology sink too.
 */
export function pipelineEnv(
  n: ReturnType<typeof testNames>,
  bootstrap: string,
  sink: Record<string, unknown> = {},
  topologySink?: Record<string, unknown>,
): Record<string, string> {
  return {
    SKYSTREAM_KAFKA_BROKERS: bootstrap,
    SKYSTREAM_KAFKA_TOPICS_PARTITIONS: "3",
    SKYSTREAM_PIPELINE_GROUP_ID: n.group,
    SKYSTREAM_PIPELINE_DLQ_TOPIC: n.dlq,
    SKYSTREAM_PIPELINE_SINKS: JSON.stringify({
      clickhouse_flows: {
        topic: n.flows,
        batch_size: 10_000,
        batch_timeout: "500ms",
        enrichment: { topology_topic: n.topology, topic: n.enriched },
        ...sink,
      },
      ...(topologySink ? { clickhouse_topology: { topic: n.topology, ...topologySink } } : {}),
    }),
    SKYSTREAM_CLICKHOUSE_DATA_PATH: n.dataDir,
  };
}

/** SKYSTREAM_* variables for an agent publishing to those names' topics, plus `extra`. */
export function agentEnv(n: ReturnType<typeof testNames>, bootstrap: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    SKYSTREAM_KAFKA_BROKERS: bootstrap,
    SKYSTREAM_KAFKA_TOPICS_PARTITIONS: "3",
    SKYSTREAM_AGENT_HOST_ID: n.id,
    SKYSTREAM_AGENT_TOPOLOGY_TOPIC: n.topology,
    SKYSTREAM_AGENT_FLOW_TOPIC: n.flows,
    ...extra,
  };
}
