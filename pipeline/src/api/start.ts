// The query API's process parts: the topology followed in memory, the graph source over it and
// ClickHouse, the app listening. Used by `skystream api` and by the all-in-one.
import type { FastifyInstance } from "fastify";
import { CONTROL_MESSAGE, TOPICS, TOPOLOGY_DELTA, type AvroCodec } from "@skystream/schemas";
import type { Bus, Logger, MetricsRegistry } from "@skystream/common";
import { GraphFollower } from "../graph/follower.js";
import { TopologyTables, type Storage } from "../storage/clickhouse/index.js";
import type { ApiConfig } from "./config.js";
import { TopologyGraphSource } from "./graph-source.js";
import { ClickhouseFlowStore } from "./flow-store.js";
import { CaptureRegistry } from "./captures.js";
import { AlertEngine } from "./alerts.js";
import { FlowFeed } from "./flow-feed.js";
import { TopologyManager } from "./topology-manager.js";
import { buildApi, listen } from "./server.js";
import type { SkystreamConfig } from "../config.js";
import type { ClickhouseFlowsConfig } from "../sinks/clickhouse-flows/config.js";

export interface RunningApi {
  app: FastifyInstance;
  address: string;
  follower: GraphFollower;
  stop(): Promise<void>;
}

/** The topics and group the API follows, from the deployment's config (the agents' and the pipeline's). */
export function apiTopics(cfg: SkystreamConfig) {
  const flowsSink = cfg.pipeline.sinks.clickhouse_flows as ClickhouseFlowsConfig | undefined;
  const enrichment = flowsSink?.enrichment;
  return {
    topologyTopic: cfg.agent.topology.topic,
    controlTopic: cfg.agent.captures.topic,
    ...(enrichment?.enabled && enrichment.topic ? { enrichedTopic: enrichment.topic } : {}),
    pipeline: { group: cfg.pipeline.group_id, topics: [cfg.agent.flow.topic, cfg.agent.topology.topic] },
  };
}

/** What the API publishes: capture and rule orders, and with the topology manager its nodes and edges. */
export function apiWrites(cfg: SkystreamConfig): { topic: string; record: string }[] {
  return [
    { topic: cfg.agent.captures.topic, record: CONTROL_MESSAGE },
    ...(cfg.api.topology_manager ? [{ topic: cfg.agent.topology.topic, record: TOPOLOGY_DELTA }] : []),
  ];
}

export async function startApi(
  cfg: ApiConfig,
  deps: {
    bus: Bus;
    storage: Storage;
    codec: AvroCodec;
    log: Logger;
    metrics: MetricsRegistry;
    topologyTopic?: string;
    groupPrefix: string;
    /** The pipeline's consumer group and topics, for /api/status. */
    pipeline: { group: string; topics: string[] };
    /** The agents' control topic, where captures are ordered. */
    controlTopic?: string;
    /** Where the pipeline publishes enriched flows. */
    enrichedTopic?: string;
  },
): Promise<RunningApi> {
  const follower = new GraphFollower(deps.bus, deps.storage, deps.codec, deps.log.child({ component: "api-graph" }), {
    topic: deps.topologyTopic ?? TOPICS.topology,
    windowMs: cfg.window,
    retireAfterMs: 60_000,
    groupPrefix: deps.groupPrefix,
  });
  await follower.start();
  // The follower loads the last `window` of history at start and keeps that much: older times come from ClickHouse.
  const source = new TopologyGraphSource(
    follower.index,
    new TopologyTables(deps.storage),
    () => Date.now() - cfg.window,
    new ClickhouseFlowStore(deps.storage),
  );
  const captures = new CaptureRegistry(
    deps.bus,
    deps.codec,
    deps.controlTopic ?? TOPICS.control,
    deps.log.child({ component: "api-captures" }),
    deps.groupPrefix,
  );
  await captures.start();
  const alerts = cfg.alerts
    ? new AlertEngine(deps.storage, source, deps.log.child({ component: "api-alerts" }), { queryTimeoutMs: cfg.query_timeout })
    : undefined;
  await alerts?.start();
  const stopAlertFeed = alerts ? follower.onRevisions(() => alerts.graphChanged()) : undefined;
  const topologyTopic = deps.topologyTopic ?? TOPICS.topology;
  let manager: TopologyManager | undefined;
  const producer = cfg.topology_manager ? deps.bus.producer() : undefined;
  if (producer) {
    await producer.connect();
    manager = new TopologyManager(deps.storage, source, producer, deps.codec, topologyTopic, deps.log.child({ component: "api-topology" }), deps.metrics, {
      heartbeatMs: cfg.heartbeat,
      queryTimeoutMs: cfg.query_timeout,
      order: (msg) => captures.order(msg),
    });
    await manager.start();
  }
  const stopManagerFeed = manager ? follower.onRevisions(() => manager.graphChanged()) : undefined;
  const flows = new FlowFeed(deps.bus, deps.codec, deps.enrichedTopic ?? TOPICS.flowsEnriched, deps.log.child({ component: "api-flows" }), deps.groupPrefix);
  const status = {
    bus: deps.bus,
    origins: () => follower.origins(),
    index: follower.index,
    group: deps.pipeline.group,
    topics: deps.pipeline.topics,
    startedAt: Date.now(),
  };
  const app = await buildApi(cfg, {
    source,
    storage: deps.storage,
    status,
    onRevisions: (l) => follower.onRevisions(l),
    captures,
    alerts,
    topologyManager: manager,
    flows,
    metrics: deps.metrics,
    log: deps.log,
  });
  const address = await listen(app, cfg.listen);
  deps.log.info({ address, docs: `${address}/api/docs` }, "query API listening");
  return {
    app,
    address,
    follower,
    async stop() {
      stopAlertFeed?.();
      stopManagerFeed?.();
      alerts?.stop();
      await manager?.stop();
      await producer?.disconnect();
      await app.close();
      await captures.stop();
      await flows.stop();
      await follower.stop();
    },
  };
}
