// /api/alert: alerts with Skydive's shapes. A Gremlin Expression (fires when its result is not empty and
// changed), a Trigger ("graph" or "duration:10s"), an Action ("" or an http(s) webhook URL). PATCH takes
// an RFC 6902 JSON Patch, as Skydive's did.
import { randomUUID } from "node:crypto";
import type { FastifyPluginAsync } from "fastify";
import { parseGremlin } from "../../gremlin/parse.js";
import { resourceTtl, resourceTtlHeaders } from "./resource-ttl.js";
import { createdLinks } from "./links.js";
import { triggerPeriod, type Alert, type AlertEngine } from "../alerts.js";
import { acceptJsonPatch, jsonPatchSchema, patchedOrAnswered, type JsonPatch } from "../json-patch.js";

interface AlertBody {
  Name?: string;
  Description?: string;
  Expression: string;
  Trigger?: string;
  Action?: string;
}

const alertProperties = {
  Name: { type: "string", maxLength: 256, default: "" },
  Description: { type: "string", maxLength: 4096, default: "" },
  Expression: {
    type: "string",
    minLength: 1,
    maxLength: 10_000,
    description: "a Gremlin query; fires when its result is not empty and differs from the last firing's",
  },
  Trigger: { type: "string", maxLength: 64, default: "graph", description: "graph (as the topology changes) or duration:<go duration>, at least 1 s" },
  Action: { type: "string", maxLength: 2048, default: "", description: "empty (WebSocket notification) or an http(s) URL the firing is POSTed to" },
} as const;

const alertSchema = { type: "object", properties: { UUID: { type: "string" }, ...alertProperties, CreateTime: { type: "integer" } } } as const;
const idParams = { type: "object", properties: { id: { type: "string", maxLength: 64 } }, required: ["id"] } as const;
const error = (statusCode: number, message: string) => ({ statusCode, error: message });

/** What is wrong with an alert's definition, if anything (a GremlinError for its Expression, answered 400 with the position). */
function alertProblem(a: Pick<Alert, "Expression" | "Trigger" | "Action">): string | undefined {
  if (typeof a.Expression !== "string" || a.Expression === "") return "Expression: a Gremlin query is needed";
  parseGremlin(a.Expression);
  if (typeof a.Trigger !== "string" || triggerPeriod(a.Trigger) === undefined)
    return `Trigger: expected "graph" or "duration:<duration of 1s or more>", got "${String(a.Trigger)}"`;
  if (typeof a.Action !== "string" || (a.Action !== "" && !/^https?:\/\/[^\s]+$/.test(a.Action)))
    return `Action: expected empty or an http(s) URL, got "${String(a.Action)}"`;
  return undefined;
}

export const alertRoutes: FastifyPluginAsync<{ engine: AlertEngine }> = async (app, { engine }) => {
  acceptJsonPatch(app);
  app.patch<{ Params: { id: string }; Body: JsonPatch }>(
    "/api/alert/:id",
    {
      schema: {
        summary: "Change an alert with a JSON Patch",
        description: "RFC 6902 operations on its JSON form; UUID and CreateTime stay. 304 when nothing changed.",
        tags: ["alerts"],
        params: idParams,
        body: jsonPatchSchema,
        response: { 200: alertSchema, 304: { description: "not modified", type: "null" } },
      },
    },
    async (req, reply) => {
      const old = engine.get(req.params.id);
      if (!old) return reply.code(404).send(error(404, `no alert ${req.params.id}`));
      const next = patchedOrAnswered<Alert>(old, req.body, reply);
      if (!next) return reply;
      if (next.UUID !== old.UUID || next.CreateTime !== old.CreateTime) return reply.code(400).send(error(400, "a patch may not change UUID or CreateTime"));
      const extra = Object.keys(next).find((k) => !(k in alertSchema.properties));
      if (extra) return reply.code(400).send(error(400, `an alert has no ${extra}`));
      if (typeof next.Name !== "string" || typeof next.Description !== "string") return reply.code(400).send(error(400, "Name and Description are strings"));
      const problem = alertProblem(next);
      if (problem) return reply.code(400).send(error(400, problem));
      await engine.update(next);
      return next;
    },
  );
  app.get(
    "/api/alert",
    { schema: { summary: "Alerts", tags: ["alerts"], response: { 200: { type: "object", additionalProperties: alertSchema } } } },
    async () => Object.fromEntries(engine.list().map((a) => [a.UUID, a])),
  );
  app.get<{ Params: { id: string } }>(
    "/api/alert/:id",
    { schema: { summary: "One alert", tags: ["alerts"], params: idParams, response: { 200: alertSchema } } },
    async (req, reply) => engine.get(req.params.id) ?? reply.code(404).send(error(404, `no alert ${req.params.id}`)),
  );
  app.get<{ Params: { id: string }; Querystring: { limit?: number } }>(
    "/api/alert/:id/firings",
    {
      schema: {
        summary: "When an alert fired, and why (latest first)",
        tags: ["alerts"],
        params: idParams,
        querystring: { type: "object", additionalProperties: false, properties: { limit: { type: "integer", minimum: 1, maximum: 10_000, default: 100 } } },
        response: {
          200: {
            type: "array",
            items: { type: "object", properties: { Time: { type: "integer" }, ReasonData: {}, ActionStatus: { type: "integer" } } },
          },
        },
      },
    },
    async (req, reply) =>
      engine.get(req.params.id) ? engine.firings(req.params.id, req.query.limit ?? 100) : reply.code(404).send(error(404, `no alert ${req.params.id}`)),
  );
  app.post<{ Body: AlertBody; Headers: { "x-resource-ttl"?: string } }>(
    "/api/alert",
    {
      links: createdLinks("/api/alert", "UUID", ["get", "patch", "delete"]),
      schema: {
        summary: "Create an alert",
        description: "X-Resource-TTL (e.g. 30s, 10m): it is deleted by itself after that long.",
        tags: ["alerts"],
        headers: resourceTtlHeaders,
        body: { type: "object", properties: alertProperties, required: ["Expression"], additionalProperties: false },
        response: { 201: alertSchema },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const problem = alertProblem({ Expression: b.Expression, Trigger: b.Trigger ?? "graph", Action: b.Action ?? "" });
      if (problem) return reply.code(400).send(error(400, problem));
      const ttl = resourceTtl(req.headers["x-resource-ttl"]);
      if ("error" in ttl) return reply.code(400).send(error(400, ttl.error));
      const trigger = b.Trigger ?? "graph";
      const action = b.Action ?? "";
      const alert = {
        UUID: randomUUID(),
        Name: b.Name ?? "",
        Description: b.Description ?? "",
        Expression: b.Expression,
        Trigger: trigger,
        Action: action,
        CreateTime: Date.now(),
      };
      await engine.create(alert, ttl.ms);
      return reply.code(201).send(alert);
    },
  );
  app.delete<{ Params: { id: string } }>(
    "/api/alert/:id",
    {
      schema: {
        summary: "Delete an alert",
        tags: ["alerts"],
        params: idParams,
        response: { 200: { description: "deleted", content: { "text/plain": { schema: { type: "string" } } } } },
      },
    },
    async (req, reply) =>
      (await engine.delete(req.params.id))
        ? reply.type("text/plain").send(`alert ${req.params.id} deleted`)
        : reply.code(404).send(error(404, `no alert ${req.params.id}`)),
  );
};
