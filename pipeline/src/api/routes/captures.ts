// /api/capture: captures on demand with Skydive's shapes and answers. GET lists them ({uuid: capture}) or
// one; POST creates one (201; 409 when the same selection, type and BPF filter is already captured;
// X-Resource-TTL: a duration after which it ends by itself); DELETE stops it everywhere. Each capture is
// decorated with Count, the number of nodes its selection matches now.
import { randomUUID } from "node:crypto";
import type { FastifyPluginAsync } from "fastify";
import type { Capture } from "@skystream/schemas";
import { parseSelection, SelectionError } from "@skystream/agent/captures/selection";
import { evaluateGremlin, type GraphSource } from "../../gremlin/evaluate.js";
import { resourceTtl, resourceTtlHeaders } from "./resource-ttl.js";
import { createdLinks } from "./links.js";
import type { CaptureRegistry } from "../captures.js";

/** What a client sends: a capture without the fields the server sets. */
type CaptureBody = Omit<Capture, "UUID" | "CreatedAt" | "TTL">;

const captureProperties = {
  GremlinQuery: { type: "string", minLength: 1, maxLength: 10_000, description: "nodes to capture on: G.V()['id'] and Has(...) steps" },
  BPFFilter: { type: "string", maxLength: 4096, default: "" },
  Name: { type: "string", maxLength: 256, default: "" },
  Description: { type: "string", maxLength: 4096, default: "" },
  Type: { type: "string", enum: ["", "pcap", "afpacket", "sflow", "ovssflow"], default: "" },
  Port: { type: "integer", minimum: 0, maximum: 65535, default: 0 },
  SamplingRate: { type: "integer", minimum: 0, default: 0 },
  PollingInterval: { type: "integer", minimum: 0, default: 0 },
  HeaderSize: { type: "integer", minimum: 0, maximum: 65535, default: 0 },
  LayerKeyMode: { type: "string", enum: ["", "L2", "L3"], default: "" },
  ExtraTCPMetric: { type: "boolean", default: false },
  Target: { type: "string", maxLength: 256, default: "" },
} as const;

const captureSchema = {
  type: "object",
  properties: {
    UUID: { type: "string" },
    ...captureProperties,
    CreatedAt: { type: "integer" },
    TTL: { type: "integer", description: "ms after CreatedAt when it ends; 0: never" },
    Count: { type: "integer", description: "nodes the selection matches now" },
  },
} as const;

const error = (statusCode: number, message: string) => ({ statusCode, error: message });

export const captureRoutes: FastifyPluginAsync<{ registry: CaptureRegistry; source: GraphSource }> = async (app, opts) => {
  const decorate = async (c: Capture) => {
    let count = 0;
    try {
      const r = await evaluateGremlin(`${c.GremlinQuery}.Count()`, opts.source, { timeoutMs: 1000 });
      count = r.value.kind === "number" ? r.value.value : 0;
    } catch {
      /* a selection the engine cannot count is shown with 0 */
    }
    return { ...c, Count: count };
  };

  app.get(
    "/api/capture",
    { schema: { summary: "Captures in force", tags: ["captures"], response: { 200: { type: "object", additionalProperties: captureSchema } } } },
    async () => Object.fromEntries(await Promise.all(opts.registry.list().map(async (c) => [c.UUID, await decorate(c)] as const))),
  );

  app.get<{ Params: { id: string } }>(
    "/api/capture/:id",
    {
      schema: {
        summary: "One capture",
        tags: ["captures"],
        params: { type: "object", properties: { id: { type: "string", maxLength: 64 } }, required: ["id"] },
        response: { 200: captureSchema },
      },
    },
    async (req, reply) => {
      const c = opts.registry.get(req.params.id);
      return c ? decorate(c) : reply.code(404).send(error(404, `no capture ${req.params.id}`));
    },
  );

  app.post<{ Body: CaptureBody; Headers: { "x-resource-ttl"?: string } }>(
    "/api/capture",
    {
      links: createdLinks("/api/capture", "UUID", ["get", "delete"]),
      schema: {
        summary: "Start a capture",
        description: "Every agent captures on the nodes of its host the selection matches. X-Resource-TTL (e.g. 30s, 10m): it ends by itself after that long.",
        tags: ["captures"],
        headers: resourceTtlHeaders,
        body: { type: "object", properties: captureProperties, required: ["GremlinQuery"], additionalProperties: false },
        response: {
          201: captureSchema,
          409: { description: "already captured", type: "object", properties: { error: { type: "string" }, statusCode: { type: "integer" } } },
        },
      },
    },
    async (req, reply) => {
      const b = req.body;
      try {
        parseSelection(b.GremlinQuery);
      } catch (err) {
        if (err instanceof SelectionError) return reply.code(400).send(error(400, `GremlinQuery: ${err.message}`));
        throw err;
      }
      const ttl = resourceTtl(req.headers["x-resource-ttl"]);
      if ("error" in ttl) return reply.code(400).send(error(400, ttl.error));
      const duplicate = opts.registry
        .list()
        .find((c) => c.GremlinQuery === b.GremlinQuery && (c.Type ?? "") === (b.Type ?? "") && (c.BPFFilter ?? "") === (b.BPFFilter ?? ""));
      if (duplicate) return reply.code(409).send(error(409, `capture ${duplicate.UUID} already captures this selection with this type and BPF filter`));
      const capture: Capture = {
        UUID: randomUUID(),
        GremlinQuery: b.GremlinQuery,
        BPFFilter: b.BPFFilter ?? "",
        Name: b.Name ?? "",
        Description: b.Description ?? "",
        Type: b.Type ?? "",
        Port: b.Port ?? 0,
        SamplingRate: b.SamplingRate ?? 0,
        PollingInterval: b.PollingInterval ?? 0,
        HeaderSize: b.HeaderSize ?? 0,
        LayerKeyMode: b.LayerKeyMode ?? "",
        ExtraTCPMetric: b.ExtraTCPMetric ?? false,
        Target: b.Target ?? "",
        CreatedAt: Date.now(),
        TTL: ttl.ms,
      };
      await opts.registry.create(capture);
      return reply.code(201).send(await decorate(capture));
    },
  );

  app.delete<{ Params: { id: string } }>(
    "/api/capture/:id",
    {
      schema: {
        summary: "Stop a capture everywhere",
        tags: ["captures"],
        params: { type: "object", properties: { id: { type: "string", maxLength: 64 } }, required: ["id"] },
        response: { 200: { description: "deleted", content: { "text/plain": { schema: { type: "string" } } } } },
      },
    },
    async (req, reply) => {
      const c = opts.registry.get(req.params.id);
      if (!c) return reply.code(404).send(error(404, `no capture ${req.params.id}`));
      await opts.registry.delete(c);
      return reply.type("text/plain").send(`capture ${c.UUID} deleted`);
    },
  );
};
