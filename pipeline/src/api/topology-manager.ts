// The topology manager: what users add to the graph through the API (Skydive's /api/node, /api/edge,
// /api/noderule, /api/edgerule). Its resources are kept in ClickHouse (topology_resources) and turned
// into graph elements of origin api.<host>, published on the topology topic like an agent's (snapshot at
// start, then changes, then heartbeats), so they have history, time travel and WebSocket events like
// everything else. Each resource owns its elements:
//   node      -> that node;            edge -> that edge;
//   noderule  -> create: one node (its ID derived from the rule's); update: its Metadata merged into the
//                nodes its Query matches: the API's own here, the agents' by their agents, told on the
//                control topic which of their nodes match (DECORATION_SET, replaced as matches change);
//   edgerule  -> an edge from every node Src matches to every node Dst matches.
// Rules are evaluated again whenever the graph changes, so new matching nodes are covered too.
// Run it in one API process of a deployment (api.topology_manager).
import { hostname } from "node:os";
import { errorMessage, type Logger, type MetricsRegistry, type Producer } from "@skystream/common";
import type { AvroCodec, ControlMessage } from "@skystream/schemas";
import { Graph, type EdgeSpec, type Metadata, type NodeSpec } from "@skystream/agent/graph/graph";
import { TopologyPublisher, kafkaDeltaSink } from "@skystream/agent/graph/publisher";
import { uuidv5 } from "@skystream/agent/graph/ids";
import { evaluateGremlin, type GraphSource } from "../gremlin/evaluate.js";
import type { Storage } from "../storage/clickhouse/index.js";

export type ResourceKind = "node" | "edge" | "noderule" | "edgerule";

/** A node as Skydive's API shows it. */
export interface NodeResource {
  ID: string;
  Host: string;
  Origin: string;
  Metadata: Metadata & { Name: string; Type: string };
  CreatedAt: number;
  UpdatedAt: number;
}

export interface EdgeResource {
  ID: string;
  Host: string;
  Origin: string;
  Parent: string;
  Child: string;
  Metadata: Metadata & { RelationType: string };
  CreatedAt: number;
  UpdatedAt: number;
}

export interface NodeRule {
  UUID: string;
  Name: string;
  Description: string;
  Metadata: Metadata;
  /** create: a node with Metadata; update: Metadata merged into the nodes Query matches. */
  Action: "create" | "update";
  Query: string;
  CreateTime: number;
}

export interface EdgeRule {
  UUID: string;
  Name: string;
  Description: string;
  Src: string;
  Dst: string;
  Metadata: Metadata & { RelationType: string };
  CreateTime: number;
}

export type Resource = NodeResource | EdgeResource | NodeRule | EdgeRule;
interface ResourceTypes {
  node: NodeResource;
  edge: EdgeResource;
  noderule: NodeRule;
  edgerule: EdgeRule;
}

interface Stored {
  kind: ResourceKind;
  id: string;
  body: Resource;
  createTime: number;
  /** ms since the epoch when it ends by itself; 0: never. */
  expires: number;
}

/** Most edges one edge rule makes (Src matches × Dst matches). */
export const MAX_RULE_EDGES = 10_000;

const idOf = (kind: ResourceKind, r: Resource) => (kind === "node" || kind === "edge" ? (r as NodeResource).ID : (r as NodeRule).UUID);
const keyOf = (kind: ResourceKind, id: string) => `${kind}/${id}`;
/** The node a "create" node rule makes. */
export const ruleNodeId = (ruleId: string) => uuidv5("noderule", ruleId);
/** The edge an edge rule makes between two nodes. */
export const ruleEdgeId = (ruleId: string, parent: string, child: string) => uuidv5("edgerule", ruleId, parent, child);

/** Name, Type and the rest of a node's metadata, as the graph keeps them. */
function nodeSpec(id: string, md: Metadata): NodeSpec {
  const { Name, Type, ...rest } = md;
  return { ID: id, Name: String(Name ?? ""), Type: String(Type ?? ""), Metadata: rest };
}
function edgeSpec(id: string, parent: string, child: string, md: Metadata): EdgeSpec {
  const { RelationType, ...rest } = md;
  return { ID: id, Parent: parent, Child: child, RelationType: String(RelationType ?? ""), Metadata: rest };
}

export class TopologyManager {
  readonly origin: string;
  readonly host: string;
  private readonly graph: Graph;
  private readonly publisher: TopologyPublisher;
  private readonly resources = new Map<string, Stored>();
  /** Owners (resource keys) that put something in the graph, to drop what deleted resources left. */
  private readonly owners = new Set<string>();
  /** Per update rule, the nodes it decorates now. */
  private readonly decorated = new Map<string, Set<string>>();
  /** Per update rule, the agents' nodes last ordered decorated (sorted, joined), so unchanged lists are not sent again. */
  private readonly ordered = new Map<string, string>();
  private chain: Promise<void> = Promise.resolve();
  private changeTimer?: NodeJS.Timeout;
  private expiryTimer?: NodeJS.Timeout;
  private seq = 0;

  constructor(
    private readonly storage: Storage,
    private readonly source: GraphSource,
    producer: Producer,
    codec: AvroCodec,
    topic: string,
    private readonly log: Logger,
    metrics: MetricsRegistry,
    private readonly opts: {
      heartbeatMs: number;
      queryTimeoutMs: number;
      host?: string;
      debounceMs?: number;
      /** Puts an order on the agents' control topic (the decorations of update rules); absent: the API's nodes only. */
      order?: (msg: ControlMessage) => Promise<void>;
    },
  ) {
    this.host = opts.host ?? hostname();
    this.origin = `api.${this.host}`;
    this.graph = new Graph(this.host, this.origin);
    this.publisher = new TopologyPublisher(this.graph, kafkaDeltaSink(producer, codec, topic, log, metrics), opts.heartbeatMs, log);
  }

  private get db() {
    return this.storage.database;
  }

  async start(): Promise<void> {
    const now = Date.now();
    const rows = await (
      await this.storage.client.query({
        query: `SELECT Kind, ID, Body, toUnixTimestamp64Milli(CreateTime) AS CreateTime,
                  if(isNull(Expires), 0, toUnixTimestamp64Milli(assumeNotNull(Expires))) AS Expires
                FROM ${this.db}.topology_resources FINAL SETTINGS output_format_json_quote_64bit_integers = 0`,
        format: "JSONEachRow",
      })
    ).json<{ Kind: ResourceKind; ID: string; Body: string; CreateTime: number; Expires: number }>();
    for (const r of rows) {
      const expires = Number(r.Expires);
      if (expires && expires <= now) continue;
      this.resources.set(keyOf(r.Kind, r.ID), { kind: r.Kind, id: r.ID, body: JSON.parse(r.Body) as Resource, createTime: Number(r.CreateTime), expires });
    }
    await this.reconcile();
    await this.publisher.start();
    this.expiryTimer = setInterval(() => void this.expire(), 1000);
    this.log.info({ origin: this.origin, resources: this.resources.size }, "topology manager running");
  }

  list<K extends ResourceKind>(kind: K): ResourceTypes[K][] {
    return [...this.resources.values()].filter((s) => s.kind === kind).map((s) => s.body as ResourceTypes[K]);
  }

  get<K extends ResourceKind>(kind: K, id: string): ResourceTypes[K] | undefined {
    return this.resources.get(keyOf(kind, id))?.body as ResourceTypes[K] | undefined;
  }

  /** A node or edge with this id already in the graph (the API's or anyone's). */
  async elementExists(kind: "node" | "edge", id: string): Promise<boolean> {
    if (this.resources.has(keyOf(kind, id))) return true;
    const q = kind === "node" ? `G.V('${id.replace(/'/g, "\\'")}').Count()` : `G.E('${id.replace(/'/g, "\\'")}').Count()`;
    const r = await evaluateGremlin(q, this.source, { timeoutMs: this.opts.queryTimeoutMs });
    return r.value.kind === "number" && r.value.value > 0;
  }

  private async write(s: Stored, deleted: boolean): Promise<void> {
    await this.storage.insertRaw({
      table: `${this.db}.topology_resources`,
      columns: ["Kind", "ID", "Body", "CreateTime", "Expires", "Version", "Deleted"],
      format: "JSONEachRow",
      data: Buffer.from(
        `${JSON.stringify({
          Kind: s.kind,
          ID: s.id,
          Body: JSON.stringify(s.body),
          CreateTime: s.createTime,
          Expires: s.expires || null,
          Version: Date.now() * 1000 + (this.seq++ % 1000),
          Deleted: deleted ? 1 : 0,
        })}\n`,
      ),
    });
  }

  /** Stores the resource (created or replaced) and puts its elements in the graph; `ttlMs` 0: until deleted. */
  async put<K extends ResourceKind>(kind: K, body: ResourceTypes[K], ttlMs = 0): Promise<void> {
    const now = Date.now();
    const s: Stored = { kind, id: idOf(kind, body), body, createTime: now, expires: ttlMs > 0 ? now + ttlMs : 0 };
    await this.write(s, false);
    this.resources.set(keyOf(kind, s.id), s);
    await this.reconcile();
    await this.publisher.flush();
  }

  /** Replaces a resource (a PATCH), keeping when it was created and when it ends. */
  async update<K extends ResourceKind>(kind: K, body: ResourceTypes[K]): Promise<void> {
    const old = this.resources.get(keyOf(kind, idOf(kind, body)));
    if (!old) throw new Error(`no ${kind} ${idOf(kind, body)}`);
    const s: Stored = { ...old, body };
    await this.write(s, false);
    this.resources.set(keyOf(kind, s.id), s);
    await this.reconcile();
    await this.publisher.flush();
  }

  async delete(kind: ResourceKind, id: string): Promise<boolean> {
    const s = this.resources.get(keyOf(kind, id));
    if (!s) return false;
    await this.write(s, true);
    this.resources.delete(keyOf(kind, id));
    await this.reconcile();
    await this.publisher.flush();
    return true;
  }

  /** The graph changed: rules are evaluated again (at most every debounceMs). */
  graphChanged(): void {
    this.changeTimer ??= setTimeout(() => {
      this.changeTimer = undefined;
      void this.reconcile();
    }, this.opts.debounceMs ?? 300);
  }

  private async expire(): Promise<void> {
    const now = Date.now();
    for (const s of [...this.resources.values()])
      if (s.expires && s.expires <= now) {
        this.log.info({ kind: s.kind, id: s.id }, "resource TTL ended");
        await this.delete(s.kind, s.id).catch((err: unknown) =>
          this.log.error({ kind: s.kind, id: s.id, err: errorMessage(err) }, "expiring a resource failed"),
        );
      }
  }

  /** Makes the graph hold exactly what the resources say; one reconciliation at a time. */
  reconcile(): Promise<void> {
    const run = this.chain.then(() => this.reconcileNow());
    this.chain = run.catch((err: unknown) => this.log.error({ err: errorMessage(err) }, "topology rules failed"));
    return run;
  }

  private async matches(query: string): Promise<string[]> {
    const r = await evaluateGremlin(query, this.source, { timeoutMs: this.opts.queryTimeoutMs });
    if (r.value.kind !== "nodes") return [];
    return [...new Set(r.value.items.map((n) => n.ID))];
  }

  private async reconcileNow(): Promise<void> {
    const live = new Set<string>();
    const updates: { owner: string; rule: NodeRule }[] = [];
    for (const s of this.resources.values()) {
      const owner = keyOf(s.kind, s.id);
      switch (s.kind) {
        case "node": {
          const n = s.body as NodeResource;
          this.graph.sync(owner, [nodeSpec(n.ID, n.Metadata)], []);
          break;
        }
        case "edge": {
          const e = s.body as EdgeResource;
          this.graph.sync(owner, [], [edgeSpec(e.ID, e.Parent, e.Child, e.Metadata)]);
          break;
        }
        case "noderule": {
          const r = s.body as NodeRule;
          if (r.Action === "create") this.graph.sync(owner, [nodeSpec(ruleNodeId(r.UUID), r.Metadata)], []);
          else updates.push({ owner, rule: r });
          break;
        }
        case "edgerule": {
          const r = s.body as EdgeRule;
          try {
            const [src, dst] = await Promise.all([this.matches(r.Src), this.matches(r.Dst)]);
            const edges: EdgeSpec[] = [];
            for (const p of src)
              for (const c of dst) if (p !== c && edges.length < MAX_RULE_EDGES) edges.push(edgeSpec(ruleEdgeId(r.UUID, p, c), p, c, r.Metadata));
            this.graph.sync(owner, [], edges);
          } catch (err) {
            this.log.warn({ rule: r.UUID, err: errorMessage(err) }, "edge rule evaluation failed; its edges are kept as they were");
          }
          break;
        }
      }
      live.add(owner);
      this.owners.add(owner);
    }
    // Update rules last, so they see the nodes the other resources just made.
    for (const { owner, rule } of updates) {
      try {
        const matched = await this.matches(rule.Query);
        const now = new Set(matched.filter((id) => this.graph.nodes.has(id)));
        for (const id of this.decorated.get(owner) ?? []) if (!now.has(id)) this.graph.decorate(owner, id, undefined);
        for (const id of now) this.graph.decorate(owner, id, rule.Metadata);
        this.decorated.set(owner, now);
        await this.orderDecoration(rule.UUID, matched.filter((id) => !now.has(id)).sort(), rule.Metadata);
      } catch (err) {
        this.log.warn({ rule: rule.UUID, err: errorMessage(err) }, "node rule evaluation failed");
      }
    }
    for (const owner of [...this.owners])
      if (!live.has(owner)) {
        for (const id of this.decorated.get(owner) ?? []) this.graph.decorate(owner, id, undefined);
        this.decorated.delete(owner);
        this.graph.drop(owner);
        this.owners.delete(owner);
        if (owner.startsWith("noderule/")) await this.orderDecoration(owner.slice("noderule/".length), undefined);
      }
  }

  /** Tells the agents which of their nodes a rule decorates now (undefined: none any more, the rule is gone). */
  private async orderDecoration(uuid: string, nodes: string[] | undefined, metadata: Metadata = {}): Promise<void> {
    if (!this.opts.order) return;
    const list = nodes === undefined ? undefined : nodes.join(",");
    if (this.ordered.get(uuid) === list) return;
    if (list === undefined && !this.ordered.has(uuid)) return;
    await this.opts.order({
      Op: nodes === undefined ? "DECORATION_DELETE" : "DECORATION_SET",
      Time: Date.now(),
      Capture: null,
      Decoration: { UUID: uuid, Nodes: nodes ?? [], Metadata: JSON.stringify(metadata) },
    });
    if (list === undefined) this.ordered.delete(uuid);
    else this.ordered.set(uuid, list);
  }

  async stop(): Promise<void> {
    clearTimeout(this.changeTimer);
    clearInterval(this.expiryTimer);
    await this.chain;
    await this.publisher.stop();
  }
}
