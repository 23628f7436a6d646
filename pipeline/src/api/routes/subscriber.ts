// /ws/subscriber: the live graph as events, as Skydive's subscriber endpoint sent them. On connect a
// SyncReply with the graph (or the part a Gremlin filter selects), then NodeAdded/NodeUpdated/NodeDeleted
// and EdgeAdded/EdgeUpdated/EdgeDeleted as the topology changes. The filter comes from the
// X-Gremlin-Filter header or the x-gremlin-filter query parameter, or later from a SyncRequest
// {GremlinFilter, Time}; it must give a graph, nodes or edges. Unfiltered subscribers get each revision
// as it arrives; filtered ones get the difference of the filter's result, re-evaluated at most every
// `debounceMs`. Alert firings come on the Alert namespace. Envelope: {Namespace, Type, UUID?, Status?, Obj}.
import type { FastifyPluginAsync } from "fastify";
import type { WebSocket } from "ws";
import type {} from "@fastify/websocket";
import { evaluateGremlin, type GraphSource, type Value } from "../../gremlin/evaluate.js";
import type { GraphEdge, GraphNode } from "../../gremlin/graph.js";
import { GremlinError } from "../../gremlin/parse.js";
import { edgeShape, nodeShape } from "../../graph/index-graph.js";
import type { RevisionRow } from "../../graph/follower.js";
import type { AlertFiring } from "../alerts.js";
import type { FlowFeed } from "../flow-feed.js";

export interface SubscriberOptions {
  source: GraphSource;
  onRevisions(listener: (rows: RevisionRow[]) => void): () => void;
  /** Enriched flows as they are published, for /ws/subscriber/flow. */
  flows?: FlowFeed;
  /** Alert firings, sent to every subscriber on the Alert namespace. */
  onAlert?: (listener: (f: AlertFiring) => void) => () => void;
  queryTimeoutMs: number;
  maxItems: number;
  debounceMs?: number;
  /** Connections that do not answer pings for this long are closed. */
  pingMs?: number;
}

interface Message {
  Namespace: string;
  Type: string;
  UUID?: string;
  Status?: number;
  Obj: unknown;
}

type Elements = { nodes: Map<string, GraphNode>; edges: Map<string, GraphEdge> };

const send = (ws: WebSocket, m: Message) => {
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(m));
};

/** The elements a filter result stands for. */
function elementsOf(v: Value): Elements | undefined {
  if (v.kind === "graph") return { nodes: new Map([...v.g.nodes()].map((n) => [n.ID, n])), edges: new Map([...v.g.edges()].map((e) => [e.ID, e])) };
  if (v.kind === "nodes") return { nodes: new Map(v.items.map((n) => [n.ID, n])), edges: new Map() };
  if (v.kind === "edges") return { nodes: new Map(), edges: new Map(v.items.map((e) => [e.ID, e])) };
  return undefined;
}

export const subscriberRoutes: FastifyPluginAsync<SubscriberOptions> = async (app, opts) => {
  const debounceMs = opts.debounceMs ?? 200;
  const limits = { timeoutMs: opts.queryTimeoutMs, maxItems: opts.maxItems };

  app.get(
    "/ws/subscriber",
    {
      websocket: true,
      schema: {
        summary: "Graph events (WebSocket)",
        description: "SyncReply, then Node/Edge Added/Updated/Deleted; X-Gremlin-Filter (header or x-gremlin-filter query parameter) restricts them.",
        tags: ["topology"],
        querystring: { type: "object", properties: { "x-gremlin-filter": { type: "string", maxLength: 10_000 } } },
      },
    },
    (socket, req) => {
      let filter = String(req.headers["x-gremlin-filter"] ?? (req.query as Record<string, string>)["x-gremlin-filter"] ?? "").trim();
      let last: Elements | undefined;
      let timer: NodeJS.Timeout | undefined;
      let alive = true;

      const evaluate = async (f: string, time?: number): Promise<Elements> => {
        const g = time ? await opts.source.at(time) : await opts.source.live();
        if (!f) return { nodes: new Map([...g.nodes()].map((n) => [n.ID, n])), edges: new Map([...g.edges()].map((e) => [e.ID, e])) };
        const source: GraphSource = { ...opts.source, live: () => g, at: opts.source.at.bind(opts.source), during: opts.source.during.bind(opts.source) };
        const r = await evaluateGremlin(f, source, limits);
        const els = elementsOf(r.value);
        if (!els) throw new GremlinError(`a subscriber filter must give a graph, nodes or edges, not ${r.value.kind}`, 0);
        return els;
      };

      const sync = async (uuid?: string, time?: number) => {
        try {
          const els = await evaluate(filter, time);
          if (!time) last = els;
          send(socket, {
            Namespace: "Graph",
            Type: "SyncReply",
            UUID: uuid,
            Status: 200,
            Obj: { Nodes: [...els.nodes.values()], Edges: [...els.edges.values()] },
          });
        } catch (err) {
          const e = err as Error;
          send(socket, {
            Namespace: "Graph",
            Type: "SyncReply",
            UUID: uuid,
            Status: 400,
            Obj: { error: e.message, ...(err instanceof GremlinError ? { position: err.position, expected: err.expected } : {}) },
          });
        }
      };

      /** Filtered: the filter's result again, sent as its difference with the last one. */
      const refresh = async () => {
        timer = undefined;
        if (!last) return;
        let now: Elements;
        try {
          now = await evaluate(filter);
        } catch {
          return; // the filter was valid at sync; a transient failure waits for the next change
        }
        const diff = <T extends GraphNode>(kind: "Node" | "Edge", before: Map<string, T>, after: Map<string, T>) => {
          for (const [id, el] of before) if (!after.has(id)) send(socket, { Namespace: "Graph", Type: `${kind}Deleted`, Obj: el });
          for (const [id, el] of after) {
            const old = before.get(id);
            if (!old) send(socket, { Namespace: "Graph", Type: `${kind}Added`, Obj: el });
            else if (old !== el && (old.Revision !== el.Revision || old.UpdatedAt !== el.UpdatedAt))
              send(socket, { Namespace: "Graph", Type: `${kind}Updated`, Obj: el });
          }
        };
        diff("Node", last.nodes, now.nodes);
        diff("Edge", last.edges, now.edges);
        last = now;
      };

      const unsubscribe = opts.onRevisions((rows) => {
        if (!last) return;
        if (filter) {
          timer ??= setTimeout(() => void refresh(), debounceMs);
          return;
        }
        // Unfiltered: each revision is an event.
        for (const r of rows) {
          const md = JSON.parse(r.Metadata) as Record<string, unknown>;
          const el = r.Kind === "node" ? nodeShape(r, md) : edgeShape(r, md);
          const kind = r.Kind === "node" ? "Node" : "Edge";
          const map = (r.Kind === "node" ? last.nodes : last.edges) as Map<string, GraphNode>;
          if (r.Deleted === 1) {
            if (map.delete(r.ID)) send(socket, { Namespace: "Graph", Type: `${kind}Deleted`, Obj: { ...el, DeletedAt: r.DeletedAt } });
          } else {
            send(socket, { Namespace: "Graph", Type: `${kind}${map.has(r.ID) ? "Updated" : "Added"}`, Obj: el });
            map.set(r.ID, el);
          }
        }
      });

      socket.on("message", (data) => {
        let m: Partial<Message>;
        try {
          m = JSON.parse(String(data)) as Partial<Message>;
        } catch {
          return send(socket, { Namespace: "Graph", Type: "Error", Status: 400, Obj: { error: "messages are JSON: {Namespace, Type, UUID, Obj}" } });
        }
        if (m.Namespace === "Graph" && m.Type === "SyncRequest") {
          const obj = (m.Obj ?? {}) as { GremlinFilter?: string | null; Time?: number };
          // Skydive: "" resets the filter, a string replaces it, null keeps it.
          if (typeof obj.GremlinFilter === "string") filter = obj.GremlinFilter.trim();
          void sync(m.UUID, typeof obj.Time === "number" && obj.Time > 0 ? obj.Time : undefined);
        } else
          send(socket, { Namespace: m.Namespace ?? "", Type: "Error", UUID: m.UUID, Status: 400, Obj: { error: `unknown message ${m.Namespace}/${m.Type}` } });
      });
      const unsubscribeAlerts = opts.onAlert?.((f) => send(socket, { Namespace: "Alert", Type: "Alert", Obj: f }));
      socket.on("pong", () => (alive = true));
      const ping = setInterval(() => {
        if (!alive) return socket.terminate();
        alive = false;
        socket.ping();
      }, opts.pingMs ?? 15_000);
      socket.on("close", () => {
        clearInterval(ping);
        clearTimeout(timer);
        unsubscribe();
        unsubscribeAlerts?.();
      });
      void sync();
    },
  );

  // /ws/subscriber/flow: flows as they are published, {Namespace: "flow", Type: "store", Obj: [flows]};
  // the namespace "flow/<CaptureID>" (X-Websocket-Namespace header or x-websocket-namespace parameter)
  // keeps one capture's flows.
  const feed = opts.flows;
  if (feed)
    app.get(
      "/ws/subscriber/flow",
      {
        websocket: true,
        schema: {
          summary: "Flows as they are published (WebSocket)",
          description: "Batches of enriched flows: {Namespace: 'flow', Type: 'store', Obj: [flows]}; namespace flow/<CaptureID> keeps one capture's.",
          tags: ["flows"],
          querystring: { type: "object", properties: { "x-websocket-namespace": { type: "string", maxLength: 256 } } },
        },
      },
      (socket, req) => {
        const ns = String(req.headers["x-websocket-namespace"] ?? (req.query as Record<string, string>)["x-websocket-namespace"] ?? "flow");
        const capture = ns.startsWith("flow/") ? ns.slice(5) : "";
        let unsubscribe: (() => void) | undefined;
        let closed = false;
        socket.on("close", () => {
          closed = true;
          unsubscribe?.();
        });
        void feed
          .subscribe((flows) => {
            const mine = capture ? flows.filter((f) => f.CaptureID === capture) : flows;
            if (mine.length > 0) send(socket, { Namespace: capture ? `flow/${capture}` : "flow", Type: "store", Obj: mine });
          })
          .then((u) => (closed ? u() : (unsubscribe = u)));
      },
    );
};
