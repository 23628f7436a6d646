// The query API: a fastify app whose routes are plugins, each with JSON schemas, the OpenAPI document
// built from them at /api/openapi.json and a docs page at /api/docs. Errors have one shape,
// {error, statusCode} (plus position and expected for a Gremlin query), never a stack.
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from "fastify";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import websocket from "@fastify/websocket";
import type { Logger, MetricsRegistry } from "@skystream/common";
import { GremlinError } from "../gremlin/parse.js";
import type { GraphSource } from "../gremlin/evaluate.js";
import type { ApiConfig } from "./config.js";
import { infoRoutes } from "./routes/info.js";
import { topologyRoutes } from "./routes/topology.js";
import { flowMatrixRoutes } from "./routes/flow-matrix.js";
import { statusRoutes, type StatusOptions } from "./routes/status.js";
import { subscriberRoutes } from "./routes/subscriber.js";
import { captureRoutes } from "./routes/captures.js";
import type { CaptureRegistry } from "./captures.js";
import type { RevisionRow } from "../graph/follower.js";
import type { Storage } from "../storage/clickhouse/index.js";

export interface ApiDeps {
  source: GraphSource;
  /** ClickHouse, for the routes that query it directly (flow matrix); absent in tests of the graph alone. */
  storage?: Storage;
  /** The topology's changes as they arrive, for /ws/subscriber; absent: no such route. */
  onRevisions?: (listener: (rows: RevisionRow[]) => void) => () => void;
  /** The captures on the control topic, for /api/capture; absent: no such routes. */
  captures?: CaptureRegistry;
  /** What /api/status reports on; absent: no such route. */
  status?: Omit<StatusOptions, "storage" | "version">;
  metrics: MetricsRegistry;
  log: Logger;
}

export const API_VERSION = "0.1.0";

export async function buildApi(cfg: ApiConfig, deps: ApiDeps): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    loggerInstance: deps.log.child({ component: "api" }) as FastifyBaseLogger,
    bodyLimit: cfg.body_limit,
    disableRequestLogging: true,
    // Unknown fields are refused, not dropped in silence; query strings are read as their schema's types.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true } },
  });
  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: { title: "Skystream API", version: API_VERSION, description: "Topology (Gremlin, time travel), captures, alerts, flow matrix." },
      tags: [
        { name: "topology", description: "the graph and Gremlin queries" },
        { name: "flows", description: "the flow matrix" },
        { name: "captures", description: "captures on demand" },
        { name: "info", description: "service information and metrics" },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: "/api/docs" });
  await app.register(websocket, { options: { maxPayload: cfg.body_limit } });
  app.get("/api/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof GremlinError) return reply.code(400).send({ error: err.message, statusCode: 400, position: err.position, expected: err.expected });
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) req.log.error({ err, url: req.url }, "request failed");
    return reply.code(status).send({ error: status === 500 ? "internal error (logged)" : err.message, statusCode: status });
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: `no route ${req.method} ${req.url}`, statusCode: 404 }));

  await app.register(infoRoutes, { version: API_VERSION, metrics: deps.metrics });
  await app.register(topologyRoutes, { source: deps.source, queryTimeoutMs: cfg.query_timeout, maxItems: cfg.max_items, flowExpireMs: cfg.flow_expire });
  if (deps.storage) await app.register(flowMatrixRoutes, { storage: deps.storage });
  if (deps.captures) await app.register(captureRoutes, { registry: deps.captures, source: deps.source });
  if (deps.onRevisions)
    await app.register(subscriberRoutes, { source: deps.source, onRevisions: deps.onRevisions, queryTimeoutMs: cfg.query_timeout, maxItems: cfg.max_items });
  if (deps.storage && deps.status) await app.register(statusRoutes, { ...deps.status, storage: deps.storage, version: API_VERSION });
  return app;
}

/** Listens on cfg.listen (host:port). */
export async function listen(app: FastifyInstance, address: string): Promise<string> {
  const i = address.lastIndexOf(":");
  return app.listen({ host: address.slice(0, i) || "127.0.0.1", port: Number(address.slice(i + 1)) });
}
