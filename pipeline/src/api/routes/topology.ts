// /api/topology: the whole live graph (GET), or a Gremlin query's result (POST {GremlinQuery}), as
// Skydive answered them: JSON, or Graphviz DOT with `Accept: text/vnd.graphviz` for graph results.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { evaluateGremlin, type GraphSource, type Value } from "../../gremlin/evaluate.js";
import type { GraphEdge, GraphNode } from "../../gremlin/graph.js";
import { LIMITS } from "../../gremlin/parse.js";
import { toDot } from "../dot.js";

export interface TopologyRoutesOptions {
  source: GraphSource;
  queryTimeoutMs: number;
  maxItems: number;
  flowExpireMs: number;
}

const DOT = "text/vnd.graphviz";
const wantsDot = (req: FastifyRequest) => (req.headers.accept ?? "").includes(DOT);

const graphSchema = {
  type: "object",
  properties: {
    Nodes: { type: "array", items: { type: "object", additionalProperties: true } },
    Edges: { type: "array", items: { type: "object", additionalProperties: true } },
  },
} as const;

/** The nodes and edges a result stands for in DOT, or undefined when it is not a graph-like result. */
function graphOf(v: Value): { nodes: GraphNode[]; edges: GraphEdge[] } | undefined {
  switch (v.kind) {
    case "graph":
      return { nodes: [...v.g.nodes()], edges: [...v.g.edges()] };
    case "nodes": {
      const ids = new Set(v.items.map((n) => n.ID));
      return { nodes: v.items, edges: v.items.flatMap((n) => v.g.outEdges(n.ID).filter((e) => ids.has(e.Child))) };
    }
    case "edges": {
      const nodes = new Map<string, GraphNode>();
      for (const e of v.items) for (const id of [e.Parent, e.Child]) if (v.g.node(id)) nodes.set(id, v.g.node(id)!);
      return { nodes: [...nodes.values()], edges: v.items };
    }
    case "paths": {
      const nodes = new Map<string, GraphNode>();
      const edges = new Map<string, GraphEdge>();
      for (const p of v.items)
        p.forEach((n, i) => {
          nodes.set(n.ID, n);
          const next = p[i + 1];
          if (next) for (const e of [...v.g.outEdges(n.ID), ...v.g.inEdges(n.ID)]) if (e.Parent === next.ID || e.Child === next.ID) edges.set(e.ID, e);
        });
      return { nodes: [...nodes.values()], edges: [...edges.values()] };
    }
    default:
      return undefined;
  }
}

export const topologyRoutes: FastifyPluginAsync<TopologyRoutesOptions> = async (app, opts) => {
  const limits = { timeoutMs: opts.queryTimeoutMs, maxItems: opts.maxItems, flowExpireMs: opts.flowExpireMs };

  app.get(
    "/api/topology",
    {
      schema: {
        summary: "The whole live graph",
        description: `JSON {Nodes, Edges}; Graphviz DOT with Accept: ${DOT}.`,
        tags: ["topology"],
        response: {
          200: {
            description: "the graph",
            content: { "application/json": { schema: graphSchema }, [DOT]: { schema: { type: "string", description: "Graphviz DOT" } } },
          },
        },
      },
    },
    async (req, reply) => {
      const g = await opts.source.live();
      const nodes = [...g.nodes()];
      const edges = [...g.edges()];
      if (wantsDot(req)) return reply.type(DOT).send(toDot(nodes, edges));
      return { Nodes: nodes, Edges: edges };
    },
  );

  app.post<{ Body: { GremlinQuery: string } }>(
    "/api/topology",
    {
      schema: {
        summary: "Run a Gremlin query",
        description:
          "Skydive's Gremlin dialect (see the README), with time travel (G.At(...)), Union/Or, and a working Outside. " +
          `The result is always a JSON array; a graph is [{Nodes, Edges}], Count() is [n]. With Accept: ${DOT}, graph, node, edge and path results come as Graphviz DOT. ` +
          "An empty query answers 204; a query that cannot be read or run answers 400 with the position and what was expected there.",
        tags: ["topology"],
        body: {
          type: "object",
          properties: { GremlinQuery: { type: "string", maxLength: LIMITS.length, description: "e.g. G.V().Has('Type', 'netns')" } },
          required: ["GremlinQuery"],
          additionalProperties: false,
        },
        response: {
          200: {
            description: "the result",
            content: { "application/json": { schema: { type: "array", items: {} } }, [DOT]: { schema: { type: "string", description: "Graphviz DOT" } } },
          },
          204: { type: "null", description: "empty query" },
          406: { description: "no Graphviz form for this result", type: "object", properties: { error: { type: "string" }, statusCode: { type: "integer" } } },
        },
      },
    },
    async (req: FastifyRequest<{ Body: { GremlinQuery: string } }>, reply: FastifyReply) => {
      const q = req.body.GremlinQuery.trim();
      if (q === "") return reply.code(204).send();
      const result = await evaluateGremlin(q, opts.source, limits);
      if (wantsDot(req)) {
        const g = graphOf(result.value);
        if (!g) return reply.code(406).send({ error: `a ${result.value.kind} result has no Graphviz form; ask for application/json`, statusCode: 406 });
        return reply.type(DOT).send(toDot(g.nodes, g.edges));
      }
      return result.json;
    },
  );
};
