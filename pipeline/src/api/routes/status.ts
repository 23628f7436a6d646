// GET /api/status: the agents seen (the topology's origins, as the API's graph has them, so an agent is
// listed as soon as its nodes can be queried), the graph held in memory, and how far
// behind the pipeline's consumer group is on each topic.
import type { FastifyPluginAsync } from "fastify";
import { totalLag, type Bus } from "@skystream/common";
import type { TopologyIndex } from "../../graph/topology-index.js";
import type { TopologyOrigin } from "../../storage/clickhouse/index.js";

export interface StatusOptions {
  bus: Bus;
  /** The topology's origins as the API's graph has them (the same deltas the pipeline materializes). */
  origins(): TopologyOrigin[];
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
      const agents = opts
        .origins()
        .filter((o) => o.Origin.startsWith("agent."))
        .sort((x, y) => (x.Origin < y.Origin ? -1 : 1))
        .map((o) => ({ Origin: o.Origin, Host: o.Host, LastSeen: o.LastSeen, Alive: !o.Retired, RetiredAt: o.RetiredAt }));
      const lag: Record<string, number | null> = {};
      await Promise.all(
        opts.topics.map(async (topic) => {
          lag[topic] = await opts.bus.lag(opts.group, topic).then(totalLag, () => null);
        }),
      );
      return {
        Version: opts.version,
        UptimeSeconds: (Date.now() - opts.startedAt) / 1000,
        Agents: agents,
        Graph: { Nodes: opts.index.counts.nodes, Edges: opts.index.counts.edges },
        Pipeline: { Group: opts.group, Lag: lag },
      };
    },
  );
};
