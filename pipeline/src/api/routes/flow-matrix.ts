// GET /api/flowmatrix: who talks to whom over a time range (or, from sockets, at an instant).
import type { FastifyPluginAsync } from "fastify";
import type { Storage } from "../../storage/clickhouse/index.js";
import { goDuration } from "../../gremlin/time.js";
import { flowMatrix, matrixCsv, matrixDot } from "../flow-matrix.js";

interface Query {
  from?: string;
  to?: string;
  source?: "flows" | "sockets";
  namespace?: string;
  host?: string;
  process?: string;
  protocol?: string;
  port?: number;
  limit?: number;
  format?: "json" | "csv" | "dot";
  volumes?: boolean;
}

/** A time: ms or s since the epoch, a duration relative to now ('-1h'), or a date. */
function parseTime(v: string | undefined, now: number, fallback: number): number | undefined {
  if (v === undefined || v === "") return fallback;
  if (/^\d+$/.test(v)) return Number(v) > 2 ** 31 ? Number(v) : Number(v) * 1000;
  if (v === "now") return now;
  const rel = goDuration(v);
  if (rel !== undefined) return now + rel;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}

const rowSchema = {
  type: "object",
  properties: Object.fromEntries(
    [
      ["Protocol", "string"],
      ["Server", "string"],
      ["ServerIP", "string"],
      ["Port", "integer"],
      ["ServerProc", "string"],
      ["ServerProcName", "string"],
      ["ServerNetns", "string"],
      ["Client", "string"],
      ["ClientIP", "string"],
      ["ClientProc", "string"],
      ["ClientProcName", "string"],
      ["ClientNetns", "string"],
      ["ClientToServerBytes", "integer"],
      ["ClientToServerPackets", "integer"],
      ["ServerToClientBytes", "integer"],
      ["ServerToClientPackets", "integer"],
      ["Flows", "integer"],
    ].map(([k, t]) => [k, { type: t }]),
  ),
} as const;

export const flowMatrixRoutes: FastifyPluginAsync<{ storage: Storage }> = async (app, opts) => {
  app.get<{ Querystring: Query }>(
    "/api/flowmatrix",
    {
      schema: {
        summary: "Who talks to whom",
        description:
          "Service dependencies: protocol, server (host, address, port, process, namespace), client, and volumes both ways, " +
          "from captured flows over [from, to] (source=flows) or from the sockets the agents saw at `to` (source=sockets). " +
          "format=csv gives skydive-flow-matrix's CSV (volumes=true adds the volumes), format=dot its Graphviz drawing; " +
          "Accept: text/csv or text/vnd.graphviz does the same.",
        tags: ["flows"],
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            from: { type: "string", description: "start: ms or s since the epoch, '-1h' (relative to now), or a date; default 1 h before `to`" },
            to: { type: "string", description: "end, same forms; default now" },
            source: { type: "string", enum: ["flows", "sockets"], default: "flows" },
            namespace: { type: "string", maxLength: 256, description: "either end in this network namespace" },
            host: { type: "string", maxLength: 256, description: "either end on this host" },
            process: { type: "string", maxLength: 256, description: "either end's process name" },
            protocol: { type: "string", enum: ["TCP", "UDP", "SCTP"] },
            port: { type: "integer", minimum: 0, maximum: 65535 },
            limit: { type: "integer", minimum: 1, maximum: 100000, default: 10000 },
            format: { type: "string", enum: ["json", "csv", "dot"] },
            volumes: { type: "boolean", default: false },
          },
        },
        response: {
          200: {
            description: "the matrix",
            content: {
              "application/json": { schema: { type: "array", items: rowSchema } },
              "text/csv": { schema: { type: "string", description: "skydive-flow-matrix's CSV" } },
              "text/vnd.graphviz": { schema: { type: "string", description: "Graphviz DOT" } },
            },
          },
        },
      },
    },
    async (req, reply) => {
      const qs = req.query;
      const now = Date.now();
      const to = parseTime(qs.to, now, now);
      const from = to === undefined ? undefined : parseTime(qs.from, now, to - 3_600_000);
      if (to === undefined || from === undefined || from > to)
        return reply.code(400).send({ error: "from and to must be times (ms or s since the epoch, '-1h', or a date) with from ≤ to", statusCode: 400 });
      const rows = await flowMatrix(opts.storage, {
        from,
        to,
        source: qs.source ?? "flows",
        namespace: qs.namespace,
        host: qs.host,
        process: qs.process,
        protocol: qs.protocol,
        port: qs.port,
        limit: qs.limit ?? 10_000,
      });
      const accept = req.headers.accept ?? "";
      const format = qs.format ?? (accept.includes("text/csv") ? "csv" : accept.includes("text/vnd.graphviz") ? "dot" : "json");
      if (format === "csv") return reply.type("text/csv; charset=utf-8").send(matrixCsv(rows, qs.volumes ?? false));
      if (format === "dot") return reply.type("text/vnd.graphviz").send(matrixDot(rows));
      return rows;
    },
  );
};
