// The query API: a fastify app whose routes are plugins, each with JSON schemas, the OpenAPI document
// built from them at /api/openapi.json and a docs page at /api/docs. Errors have one shape,
// {error, statusCode} (plus position and expected for a Gremlin query), never a stack.
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from "fastify";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import websocket from "@fastify/websocket";
import { Ajv } from "ajv";
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
import { alertRoutes } from "./routes/alerts.js";
import type { AlertEngine } from "./alerts.js";
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
  /** Alerts, for /api/alert and the Alert events of /ws/subscriber; absent: no such routes. */
  alerts?: AlertEngine;
  /** What /api/status reports on; absent: no such route. */
  status?: Omit<StatusOptions, "storage" | "version">;
  metrics: MetricsRegistry;
  log: Logger;
}

export const API_VERSION = "0.1.0";

/** Every error answer: a message and the status, plus where a Gremlin query went wrong. */
export const errorSchema = {
  type: "object",
  properties: {
    error: { type: "string" },
    statusCode: { type: "integer" },
    position: { type: "integer", description: "Gremlin: 0-based offset in the query" },
    expected: { type: "string", description: "Gremlin: what would have been accepted there" },
  },
  required: ["error", "statusCode"],
} as const;

/** Answers any route may give: bad input, unknown id, method not allowed, body or URI too large, wrong content type. */
const COMMON_ERRORS = [400, 404, 405, 413, 414, 415];

export async function buildApi(cfg: ApiConfig, deps: ApiDeps): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    loggerInstance: deps.log.child({ component: "api" }) as FastifyBaseLogger,
    bodyLimit: cfg.body_limit,
    disableRequestLogging: true,
    maxParamLength: 1000,
  });
  // Unknown fields are refused, not dropped in silence. Query strings, path parameters and headers are
  // text read as their schema's types; a JSON body is taken as it is (a null is not an empty string).
  const ajv = (coerceTypes: boolean) => new Ajv({ coerceTypes, useDefaults: true, removeAdditional: false, allErrors: false, strict: false });
  const strict = ajv(false);
  const coercing = ajv(true);
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === "body" ? strict : coercing).compile(schema));
  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: { title: "Skystream API", version: API_VERSION, description: "Topology (Gremlin, time travel), captures, alerts, flow matrix." },
      tags: [
        { name: "topology", description: "the graph and Gremlin queries" },
        { name: "flows", description: "the flow matrix" },
        { name: "captures", description: "captures on demand" },
        { name: "alerts", description: "alerts on Gremlin expressions" },
        { name: "info", description: "service information and metrics" },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: "/api/docs" });
  // Every documented route documents its error answers too (the OpenAPI document is the contract).
  const known: { method: string; path: RegExp }[] = [];
  app.addHook("onRoute", (route) => {
    for (const method of [route.method].flat())
      known.push({ method, path: new RegExp(`^${route.url.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/:[^/]+/g, "[^/]+")}/?$`) });
    const schema = route.schema as { hide?: boolean; response?: Record<string, unknown> } | undefined;
    if (!schema || schema.hide) return;
    schema.response ??= {};
    for (const code of COMMON_ERRORS) schema.response[code] ??= { ...errorSchema, description: "error" };
  });
  await app.register(websocket, { options: { maxPayload: cfg.body_limit } });
  app.get("/api/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof GremlinError) return reply.code(400).send({ error: err.message, statusCode: 400, position: err.position, expected: err.expected });
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) req.log.error({ err, url: req.url }, "request failed");
    return reply.code(status).send({ error: status === 500 ? "internal error (logged)" : err.message, statusCode: status });
  });
  app.setNotFoundHandler((req, reply) => {
    // A known path asked with another method: 405 with the methods it has.
    const url = req.url.split("?")[0]!;
    const allowed = [...new Set(known.filter((r) => r.method !== req.method && r.method !== "HEAD" && r.path.test(url)).map((r) => r.method))];
    if (allowed.length > 0)
      return reply
        .code(405)
        .header("allow", allowed.join(", "))
        .send({ error: `${req.method} is not allowed on ${url}; use ${allowed.join(", ")}`, statusCode: 405 });
    return reply.code(404).send({ error: `no route ${req.method} ${req.url}`, statusCode: 404 });
  });

  await app.register(infoRoutes, { version: API_VERSION, metrics: deps.metrics });
  await app.register(topologyRoutes, { source: deps.source, queryTimeoutMs: cfg.query_timeout, maxItems: cfg.max_items, flowExpireMs: cfg.flow_expire });
  if (deps.storage) await app.register(flowMatrixRoutes, { storage: deps.storage });
  if (deps.captures) await app.register(captureRoutes, { registry: deps.captures, source: deps.source });
  if (deps.alerts) await app.register(alertRoutes, { engine: deps.alerts });
  if (deps.onRevisions)
    await app.register(subscriberRoutes, {
      source: deps.source,
      onRevisions: deps.onRevisions,
      onAlert: deps.alerts ? (l) => deps.alerts!.onFire(l) : undefined,
      queryTimeoutMs: cfg.query_timeout,
      maxItems: cfg.max_items,
    });
  if (deps.storage && deps.status) await app.register(statusRoutes, { ...deps.status, storage: deps.storage, version: API_VERSION });
  return app;
}

/** Listens on cfg.listen (host:port). */
export async function listen(app: FastifyInstance, address: string): Promise<string> {
  const i = address.lastIndexOf(":");
  return app.listen({ host: address.slice(0, i) || "127.0.0.1", port: Number(address.slice(i + 1)) });
}
