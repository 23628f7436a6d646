// GET /api/status: the agents seen (from the topology's origins), the graph held in memory, and how far
// behind the pipeline's consumer group is on each topic.
import type { FastifyPluginAsync } from "fastify";
import { totalLag, type Bus } from "@skystream/common";
import type { TopologyIndex } from "../../graph/topology-index.js";
import type { Storage } from "../../storage/clickhouse/index.js";

export interface StatusOptions {
  storage: Storage;
  bus: Bus;
  index: TopologyIndex;
  /** The pipeline's consumer group and the topics it reads. */
  group: string;
  topics: string[];
  startedAt: number;
  version: string;
}

const agentSchema = {
  type: "object",
  properties: {
    Origin: { type: "string" },
    Host: { type: "string" },
    LastSeen: { type: "integer", description: "ms since the epoch of its last message" },
    Alive: { type: "boolean", description: "not retired (its heartbeats keep coming)" },
    RetiredAt: { type: "integer", nullable: true },
  },
} as const;

export const statusRoutes: FastifyPluginAsync<StatusOptions> = async (app, opts) => {
  app.get(
    "/api/status",
    {
      schema: {
        summary: "Agents, graph and pipeline lag",
        tags: ["info"],
        response: {
          200: {
            type: "object",
            properties: {
              Version: { type: "string" },
              UptimeSeconds: { type: "number" },
              Agents: { type: "array", items: agentSchema },
              Graph: { type: "object", properties: { Nodes: { type: "integer" }, Edges: { type: "integer" } } },
              Pipeline: {
                type: "object",
                properties: {
                  Group: { type: "string" },
                  Lag: {
                    type: "object",
                    additionalProperties: { type: "integer", nullable: true },
                    description: "records not yet committed, per topic (null: unknown)",
                  },
                },
              },
            },
          },
        },
      },
    },
    async () => {
      const db = opts.storage.database;
      const agents = await (
        await opts.storage.client.query({
          query: `SELECT Origin, Host, toUnixTimestamp64Milli(LastSeen) AS LastSeen, Retired = 0 AS Alive,
                    if(isNull(RetiredAt), NULL, toUnixTimestamp64Milli(assumeNotNull(RetiredAt))) AS RetiredAt
                  FROM ${db}.topology_origins FINAL ORDER BY Origin
                  SETTINGS output_format_json_quote_64bit_integers = 0`,
          format: "JSONEachRow",
        })
      ).json<{ Origin: string; Host: string; LastSeen: number; Alive: number | boolean; RetiredAt: number | null }>();
      const lag: Record<string, number | null> = {};
      await Promise.all(
        opts.topics.map(async (topic) => {
          lag[topic] = await opts.bus.lag(opts.group, topic).then(totalLag, () => null);
        }),
      );
      return {
        Version: opts.version,
        UptimeSeconds: (Date.now() - opts.startedAt) / 1000,
        Agents: agents.map((a) => ({ ...a, Alive: Boolean(a.Alive) })),
        Graph: { Nodes: opts.index.counts.nodes, Edges: opts.index.counts.edges },
        Pipeline: { Group: opts.group, Lag: lag },
      };
    },
  );
};
