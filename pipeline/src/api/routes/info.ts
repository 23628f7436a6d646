// GET /api: who answers (Skydive's Info), and /metrics for Prometheus.
import type { FastifyPluginAsync } from "fastify";
import type { MetricsRegistry } from "@skystream/common";
import { hostname } from "node:os";

export const infoRoutes: FastifyPluginAsync<{ version: string; metrics: MetricsRegistry }> = async (app, opts) => {
  app.get(
    "/api",
    {
      schema: {
        summary: "Which service answers",
        tags: ["info"],
        response: {
          200: {
            type: "object",
            properties: { Host: { type: "string" }, Version: { type: "string" }, Service: { type: "string" } },
            required: ["Host", "Version", "Service"],
          },
        },
      },
    },
    async () => ({ Host: hostname(), Version: opts.version, Service: "api" }),
  );
  app.get(
    "/metrics",
    {
      schema: {
        summary: "Prometheus metrics",
        tags: ["info"],
        response: { 200: { description: "the metrics", content: { "text/plain": { schema: { type: "string" } } } } },
      },
    },
    async (_req, reply) => reply.type(opts.metrics.contentType).send(await opts.metrics.metrics()),
  );
};
