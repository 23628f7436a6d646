// The query API: a fastify app whose routes are plugins, each with JSON schemas, the OpenAPI document
// built from them at /api/openapi.json and a docs page at /api/docs. Errors have one shape,
// {error, statusCode} (plus position and expected for a Gremlin query), never a stack.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import cors from "@fastify/cors";
import { parse as parseYaml } from "yaml";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from "fastify";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import websocket from "@fastify/websocket";
import { Ajv } from "ajv";
import { readFileSync } from "node:fs";
import cookie from "@fastify/cookie";
import formbody from "@fastify/formbody";
import jwt from "@fastify/jwt";
import { Auth, type Permission } from "./auth.js";
import type { Logger, MetricsRegistry } from "@skystream/common";
import { GremlinError } from "../gremlin/parse.js";
import type { GraphSource } from "../gremlin/evaluate.js";
import type { ApiConfig } from "./config.js";
import { infoRoutes } from "./routes/info.js";
import { topologyRoutes } from "./routes/topology.js";
import { flowMatrixRoutes } from "./routes/flow-matrix.js";
import { statusRoutes, type StatusOptions } from "./routes/status.js";
import { topologyResourceRoutes } from "./routes/topology-resources.js";
import type { TopologyManager } from "./topology-manager.js";
import { subscriberRoutes } from "./routes/subscriber.js";
import { captureRoutes } from "./routes/captures.js";
import type { CaptureRegistry } from "./captures.js";
import { alertRoutes } from "./routes/alerts.js";
import type { AlertEngine } from "./alerts.js";
import type { FlowFeed } from "./flow-feed.js";
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
  /** Enriched flows as published, for /ws/subscriber/flow; absent: no such route. */
  flows?: FlowFeed;
  /** Alerts, for /api/alert and the Alert events of /ws/subscriber; absent: no such routes. */
  alerts?: AlertEngine;
  /** Nodes, edges and rules users add to the topology; absent: no such routes. */
  topologyManager?: TopologyManager;
  /** What /api/status reports on; absent: no such route. */
  status?: Omit<StatusOptions, "version">;
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
const COMMON_ERRORS = [400, 401, 403, 404, 405, 413, 414, 415];

export async function buildApi(cfg: ApiConfig, deps: ApiDeps): Promise<FastifyInstance> {
  const tls = cfg.tls.cert
    ? {
        https: {
          cert: readFileSync(cfg.tls.cert),
          key: readFileSync(cfg.tls.key),
          ...(cfg.tls.client_ca ? { ca: readFileSync(cfg.tls.client_ca), requestCert: true, rejectUnauthorized: true } : {}),
        },
      }
    : {};
  const app: FastifyInstance = Fastify({
    ...tls,
    loggerInstance: deps.log.child({ component: "api" }) as FastifyBaseLogger,
    bodyLimit: cfg.body_limit,
    // Failed requests are logged by the error handler; the rest would be a line per request.
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { maxParamLength: 1000 },
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

  // Before auth: a browser's preflight carries no credentials.
  if (cfg.cors_origins.length > 0)
    await app.register(cors, {
      origin: cfg.cors_origins.includes("*") ? true : cfg.cors_origins,
      methods: ["GET", "POST", "PUT", "PATCH", "DELETE"],
      allowedHeaders: ["authorization", "content-type", "x-auth-token", "x-resource-ttl"],
      maxAge: 600,
    });
  const auth = new Auth(cfg);
  if (auth.enabled) await registerAuth(app, auth, cfg.auth.token_ttl);

  // Skydive's API took YAML bodies too (Content-Type: application/yaml); they are checked like JSON ones.
  app.addContentTypeParser(["application/yaml", "application/x-yaml", "text/yaml"], { parseAs: "string" }, (_req, body, done) => {
    try {
      done(null, parseYaml(body as string, { maxAliasCount: 100 }) as unknown);
    } catch (e) {
      done(Object.assign(new Error(`YAML body: ${(e as Error).message.split("\n")[0]}`), { statusCode: 400 }), undefined);
    }
  });
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
  await registerUi(app, cfg.ui_dir || DEFAULT_UI_DIR, deps.log);
  await app.register(topologyRoutes, { source: deps.source, queryTimeoutMs: cfg.query_timeout, maxItems: cfg.max_items, flowExpireMs: cfg.flow_expire });
  if (deps.storage) await app.register(flowMatrixRoutes, { storage: deps.storage });
  if (deps.captures) await app.register(captureRoutes, { registry: deps.captures, source: deps.source });
  if (deps.alerts) await app.register(alertRoutes, { engine: deps.alerts });
  if (deps.topologyManager) await app.register(topologyResourceRoutes, { manager: deps.topologyManager });
  if (deps.onRevisions)
    await app.register(subscriberRoutes, {
      source: deps.source,
      onRevisions: deps.onRevisions,
      onAlert: deps.alerts ? (l) => deps.alerts!.onFire(l) : undefined,
      flows: deps.flows,
      queryTimeoutMs: cfg.query_timeout,
      maxItems: cfg.max_items,
    });
  if (deps.status) await app.register(statusRoutes, { ...deps.status, version: API_VERSION });
  return app;
}

/** Where the web UI is built (npm run build:ui). */
const DEFAULT_UI_DIR = fileURLToPath(new URL("../../../ui/dist/", import.meta.url));

/** Serves the web UI's files at / (open: the page logs in through /login), when it has been built. */
async function registerUi(app: FastifyInstance, dir: string, log: Logger): Promise<void> {
  if (!existsSync(join(dir, "index.html"))) {
    log.warn({ ui_dir: dir }, "web UI not built (npm run build:ui): the API serves no page at /");
    return;
  }
  await app.register(fastifyStatic, { root: dir, prefix: "/", wildcard: false, index: ["index.html"], cacheControl: true, maxAge: "1h" });
}

/** Listens on cfg.listen (host:port). */
export async function listen(app: FastifyInstance, address: string): Promise<string> {
  const i = address.lastIndexOf(":");
  return app.listen({ host: address.slice(0, i) || "127.0.0.1", port: Number(address.slice(i + 1)) });
}

/** Routes anyone may call: logging in, and the API's own description. */
const OPEN = [/^\/login$/, /^\/api\/docs(\/.*)?$/, /^\/api\/openapi\.json$/, /^\/$/, /^\/index\.html$/, /^\/assets\/[^/]+$/];

/** What a request touches, from its route: /api/<object>…; GET reads, and so does a Gremlin query. */
export function permissionOf(method: string, route: string): Permission {
  const object = route.startsWith("/ws/")
    ? "websocket"
    : route === "/api" || route === "/metrics"
      ? "status"
      : (/^\/api\/([a-z]+)/.exec(route)?.[1] ?? "status");
  const read = method === "GET" || method === "HEAD" || (method === "POST" && route === "/api/topology");
  return { object, action: read ? "read" : "write" };
}

async function registerAuth(app: FastifyInstance, auth: Auth, ttlMs: number): Promise<void> {
  await auth.start();
  await app.register(cookie);
  await app.register(formbody);
  await app.register(jwt, { secret: auth.secret, sign: { expiresIn: Math.round(ttlMs / 1000) } });
  app.post<{ Body: { username: string; password: string } }>(
    "/login",
    {
      schema: {
        summary: "Log in: a signed token that expires",
        tags: ["info"],
        body: {
          type: "object",
          properties: { username: { type: "string", minLength: 1, maxLength: 256 }, password: { type: "string", maxLength: 1024 } },
          required: ["username", "password"],
          additionalProperties: false,
        },
        response: {
          200: {
            type: "object",
            properties: {
              Token: { type: "string" },
              Permissions: {
                type: "array",
                items: { type: "object", properties: { Object: { type: "string" }, Action: { type: "string" }, Allowed: { type: "boolean" } } },
              },
            },
          },
          401: { ...errorSchema, description: "wrong user or password" },
        },
      },
    },
    async (req, reply) => {
      const role = await auth.login(req.body.username, req.body.password);
      if (!role) return reply.code(401).send({ error: "wrong user or password", statusCode: 401 });
      const Token = app.jwt.sign({ sub: req.body.username, role });
      reply.setCookie("authtoken", Token, { httpOnly: true, sameSite: "strict", path: "/", secure: req.protocol === "https" });
      return { Token, Permissions: await auth.permissions(role) };
    },
  );
  app.addHook("onRequest", async (req, reply) => {
    const path = req.url.split("?")[0]!;
    if (OPEN.some((re) => re.test(path))) return;
    // A CORS preflight (answered by the cors plugin) carries no credentials.
    if (req.method === "OPTIONS" && req.headers["access-control-request-method"] && req.headers.origin) return;
    const header = req.headers.authorization;
    const token =
      (header?.startsWith("Bearer ") ? header.slice(7) : undefined) ??
      (req.headers["x-auth-token"] as string | undefined) ??
      req.cookies.authtoken ??
      new URLSearchParams(req.url.split("?")[1] ?? "").get("x-auth-token") ??
      undefined;
    if (!token) return reply.code(401).send({ error: "authentication required: POST /login, then send the token (Authorization: Bearer …)", statusCode: 401 });
    let claims: { sub: string; role: string };
    try {
      claims = app.jwt.verify<{ sub: string; role: string }>(token);
    } catch (err) {
      return reply.code(401).send({ error: `invalid token: ${(err as Error).message}`, statusCode: 401 });
    }
    const p = permissionOf(req.method, req.routeOptions.url ?? path);
    if (!(await auth.allowed(claims.role, p)))
      return reply.code(403).send({ error: `'${claims.sub}' (${claims.role}) has no '${p.action}' permission on '${p.object}'`, statusCode: 403 });
  });
}
