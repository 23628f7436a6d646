// /api/node, /api/edge, /api/noderule, /api/edgerule: what users add to the topology, with Skydive's
// shapes and answers. GET lists ({id: resource}) or gives one; POST creates (201; 409 when a node or
// edge with that ID exists; 400 on a bad body or Gremlin query; X-Resource-TTL: it ends by itself after
// that long); PATCH (nodes and edges) applies an RFC 6902 JSON Patch to its metadata (200, 304 when
// nothing changed, 400 when it touches its identity); DELETE removes it and what it made (200 text/plain,
// 404). Only what was created here can be changed here: the agents' nodes are theirs to describe.
import { randomUUID } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import type { FastifyInstance, FastifyPluginAsync, FastifyReply } from "fastify";
import { parseGremlin } from "../../gremlin/parse.js";
import { resourceTtl, resourceTtlHeaders } from "./resource-ttl.js";
import { createdLinks } from "./links.js";
import { acceptJsonPatch, jsonPatchSchema, patchedOrAnswered, type JsonPatch } from "../json-patch.js";
import type { EdgeResource, EdgeRule, NodeResource, NodeRule, Resource, ResourceKind, TopologyManager } from "../topology-manager.js";

const error = (statusCode: number, message: string) => ({ statusCode, error: message });
const idParams = { type: "object", properties: { id: { type: "string", maxLength: 256 } }, required: ["id"] } as const;
const metadata = (required: string[] = []) =>
  ({
    type: "object",
    maxProperties: 256,
    additionalProperties: true,
    ...(required.length ? { required, properties: Object.fromEntries(required.map((k) => [k, { type: "string", minLength: 1, maxLength: 256 }])) } : {}),
  }) as const;
const id = { type: "string", minLength: 1, maxLength: 256, pattern: "^[^'\\\\]+$" } as const;
const query = (description: string) => ({ type: "string", minLength: 1, maxLength: 10_000, description }) as const;
/** Fields a client may send back from a GET (Skydive's clients do); the server sets them. */
const serverSet = {
  Host: { type: "string" },
  Origin: { type: "string" },
  CreatedAt: { type: "integer" },
  UpdatedAt: { type: "integer" },
  Revision: { type: "integer" },
};
const bookkeeping = { ...serverSet, CreateTime: { type: "integer" }, UUID: { type: "string" } };

interface Spec<B, R extends Resource> {
  kind: ResourceKind;
  summary: string;
  body: Record<string, unknown>;
  response: Record<string, unknown>;
  /** The resource from a valid body, or a 400 message. */
  build(body: B, manager: TopologyManager, now: number): Promise<R | string>;
  /** PATCH (nodes and edges, as Skydive): what a patched resource may not change, or a 400 message. */
  patch?(old: R, next: R): string | undefined;
}

/** The keys a patch must leave as they were; a message naming the first it changed. */
const unchanged = (old: Record<string, unknown>, next: Record<string, unknown>, paths: string[]) => {
  const at = (o: Record<string, unknown>, p: string) => p.split(".").reduce<unknown>((x, k) => (x as Record<string, unknown> | undefined)?.[k], o);
  const changed = paths.find((p) => !isDeepStrictEqual(at(old, p), at(next, p)));
  return changed ? `a patch may not change ${changed}` : undefined;
};

const nodeSpec: Spec<{ ID?: string; Metadata: NodeResource["Metadata"] }, NodeResource> = {
  kind: "node",
  summary: "nodes",
  body: {
    type: "object",
    properties: { ID: id, Metadata: metadata(["Name", "Type"]), ...serverSet },
    required: ["Metadata"],
    additionalProperties: false,
  },
  response: { type: "object", properties: { ID: { type: "string" }, Metadata: metadata(), ...serverSet } },
  async build(b, m, now) {
    return { ID: b.ID ?? randomUUID(), Host: m.host, Origin: m.origin, Metadata: b.Metadata, CreatedAt: now, UpdatedAt: now };
  },
  patch: (old, next) =>
    unchanged(old as never, next as never, ["ID", "Host", "Origin", "CreatedAt", "Metadata.Name", "Metadata.Type", "Metadata.TID"]) ??
    (next.Metadata && typeof next.Metadata === "object" && !Array.isArray(next.Metadata) ? undefined : "Metadata must stay an object"),
};

const edgeSpec: Spec<{ ID?: string; Parent: string; Child: string; Metadata: EdgeResource["Metadata"] }, EdgeResource> = {
  kind: "edge",
  summary: "edges",
  body: {
    type: "object",
    properties: { ID: id, Parent: id, Child: id, Metadata: metadata(["RelationType"]), ...serverSet },
    required: ["Parent", "Child", "Metadata"],
    additionalProperties: false,
  },
  response: {
    type: "object",
    properties: { ID: { type: "string" }, Parent: { type: "string" }, Child: { type: "string" }, Metadata: metadata(), ...serverSet },
  },
  async build(b, m, now) {
    for (const end of ["Parent", "Child"] as const) if (!(await m.elementExists("node", b[end]))) return `${end}: no node ${b[end]}`;
    if (b.Parent === b.Child) return "Parent and Child are the same node";
    return { ID: b.ID ?? randomUUID(), Host: m.host, Origin: m.origin, Parent: b.Parent, Child: b.Child, Metadata: b.Metadata, CreatedAt: now, UpdatedAt: now };
  },
  patch: (old, next) =>
    unchanged(old as never, next as never, ["ID", "Host", "Origin", "CreatedAt", "Parent", "Child"]) ??
    (next.Metadata && typeof next.Metadata.RelationType === "string" && next.Metadata.RelationType !== "" ? undefined : "Metadata.RelationType is needed"),
};

const nodeRuleSpec: Spec<{ Name?: string; Description?: string; Metadata: Record<string, unknown>; Action?: "create" | "update"; Query?: string }, NodeRule> = {
  kind: "noderule",
  summary: "node rules",
  body: {
    type: "object",
    properties: {
      Name: { type: "string", maxLength: 256, default: "" },
      Description: { type: "string", maxLength: 4096, default: "" },
      Metadata: metadata(),
      Action: {
        type: "string",
        enum: ["create", "update"],
        default: "create",
        description: "create: a node with Metadata; update: Metadata merged into what Query matches",
      },
      Query: query("update: the nodes to describe, e.g. G.V().Has('Type', 'device')"),
      ...bookkeeping,
    },
    required: ["Metadata"],
    additionalProperties: false,
  },
  response: {
    type: "object",
    properties: {
      UUID: { type: "string" },
      Name: { type: "string" },
      Description: { type: "string" },
      Metadata: metadata(),
      Action: { type: "string" },
      Query: { type: "string" },
      CreateTime: { type: "integer" },
    },
  },
  async build(b, _m, now) {
    const action = b.Action ?? "create";
    if (action === "create") {
      for (const k of ["Name", "Type"])
        if (typeof b.Metadata[k] !== "string" || b.Metadata[k] === "") return `Metadata.${k}: a node rule that creates needs one`;
    } else {
      if (!b.Query) return "Query: an update rule needs the nodes it describes";
      for (const k of ["Name", "Type"]) if (k in b.Metadata) return `Metadata.${k}: an update rule may not change a node's ${k}`;
      parseGremlin(b.Query); // a GremlinError answers 400 with the position
    }
    return {
      UUID: randomUUID(),
      Name: b.Name ?? "",
      Description: b.Description ?? "",
      Metadata: b.Metadata,
      Action: action,
      Query: b.Query ?? "",
      CreateTime: now,
    };
  },
};

const edgeRuleSpec: Spec<{ Name?: string; Description?: string; Src: string; Dst: string; Metadata: EdgeRule["Metadata"] }, EdgeRule> = {
  kind: "edgerule",
  summary: "edge rules",
  body: {
    type: "object",
    properties: {
      Name: { type: "string", maxLength: 256, default: "" },
      Description: { type: "string", maxLength: 4096, default: "" },
      Src: query("the parent nodes, e.g. G.V().Has('Name', 'tor1')"),
      Dst: query("the child nodes"),
      Metadata: metadata(["RelationType"]),
      ...bookkeeping,
    },
    required: ["Src", "Dst", "Metadata"],
    additionalProperties: false,
  },
  response: {
    type: "object",
    properties: {
      UUID: { type: "string" },
      Name: { type: "string" },
      Description: { type: "string" },
      Src: { type: "string" },
      Dst: { type: "string" },
      Metadata: metadata(),
      CreateTime: { type: "integer" },
    },
  },
  async build(b, _m, now) {
    parseGremlin(b.Src);
    parseGremlin(b.Dst);
    return { UUID: randomUUID(), Name: b.Name ?? "", Description: b.Description ?? "", Src: b.Src, Dst: b.Dst, Metadata: b.Metadata, CreateTime: now };
  },
};

function register<B, R extends Resource>(app: FastifyInstance, manager: TopologyManager, spec: Spec<B, R>): void {
  const path = `/api/${spec.kind}`;
  const tags = ["topology resources"];
  const notFound = (reply: FastifyReply, id: string) => reply.code(404).send(error(404, `no ${spec.kind} ${id} created through the API`));
  app.get(path, { schema: { summary: `All ${spec.summary}`, tags, response: { 200: { type: "object", additionalProperties: spec.response } } } }, async () =>
    Object.fromEntries(manager.list(spec.kind).map((r) => ["UUID" in r ? r.UUID : r.ID, r])),
  );
  app.get<{ Params: { id: string } }>(
    `${path}/:id`,
    { schema: { summary: `One of the ${spec.summary}`, tags, params: idParams, response: { 200: spec.response } } },
    async (req, reply) => manager.get(spec.kind, req.params.id) ?? notFound(reply, req.params.id),
  );
  app.post<{ Body: B; Headers: { "x-resource-ttl"?: string } }>(
    path,
    {
      links: createdLinks(path, spec.kind === "node" || spec.kind === "edge" ? "ID" : "UUID", spec.patch ? ["get", "patch", "delete"] : ["get", "delete"]),
      schema: {
        summary: `Create one of the ${spec.summary}`,
        description: "X-Resource-TTL (e.g. 30s, 10m): it is deleted by itself after that long.",
        tags,
        headers: resourceTtlHeaders,
        body: spec.body,
        response: {
          201: spec.response,
          409: { description: "already exists", type: "object", properties: { error: { type: "string" }, statusCode: { type: "integer" } } },
        },
      },
    },
    async (req, reply) => {
      const ttl = resourceTtl(req.headers["x-resource-ttl"]);
      if ("error" in ttl) return reply.code(400).send(error(400, ttl.error));
      const given = (req.body as { ID?: string }).ID;
      if ((spec.kind === "node" || spec.kind === "edge") && given && (await manager.elementExists(spec.kind, given)))
        return reply.code(409).send(error(409, `${spec.kind} ${given} already exists`));
      const built = await spec.build(req.body as B, manager, Date.now());
      if (typeof built === "string") return reply.code(400).send(error(400, built));
      await manager.put(spec.kind, built as never, ttl.ms);
      return reply.code(201).send(built);
    },
  );
  if (spec.patch) {
    const check = spec.patch;
    app.patch<{ Params: { id: string }; Body: JsonPatch }>(
      `${path}/:id`,
      {
        schema: {
          summary: `Change one of the ${spec.summary} with a JSON Patch`,
          description: "RFC 6902 operations on its JSON form; its identity and bookkeeping fields stay as they are. 304 when nothing changed.",
          tags,
          params: idParams,
          body: jsonPatchSchema,
          response: { 200: spec.response, 304: { description: "not modified", type: "null" } },
        },
      },
      async (req, reply) => {
        const old = manager.get(spec.kind, req.params.id) as R | undefined;
        if (!old) return notFound(reply, req.params.id);
        const next = patchedOrAnswered(old, req.body, reply);
        if (!next) return reply;
        const refused = check(old, next);
        if (refused) return reply.code(400).send(error(400, refused));
        const updated = { ...next, UpdatedAt: Date.now() } as R;
        await manager.update(spec.kind, updated as never);
        return updated;
      },
    );
  }
  app.delete<{ Params: { id: string } }>(
    `${path}/:id`,
    {
      schema: {
        summary: `Delete one of the ${spec.summary} and what it made`,
        tags,
        params: idParams,
        response: { 200: { description: "deleted", content: { "text/plain": { schema: { type: "string" } } } } },
      },
    },
    async (req, reply) =>
      (await manager.delete(spec.kind, req.params.id))
        ? reply.type("text/plain").send(`${spec.kind} ${req.params.id} deleted`)
        : notFound(reply, req.params.id),
  );
}

export const topologyResourceRoutes: FastifyPluginAsync<{ manager: TopologyManager }> = async (app, { manager }) => {
  acceptJsonPatch(app);
  register(app, manager, nodeSpec);
  register(app, manager, edgeSpec);
  register(app, manager, nodeRuleSpec);
  register(app, manager, edgeRuleSpec);
};
