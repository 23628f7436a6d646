// REPLAY HARNESS, NOT AN API SERVER: a small HTTP(S) server that answers the Kubernetes API's list and
// watch requests from recorded objects (see README.md here for where each recording comes from), so the
// k8s probe can be tested without a cluster. It implements just what list + watch clients rely on:
//   - collections at their all-namespaces paths, objects kept by uid, one resourceVersion counter;
//   - list: items + metadata.resourceVersion, limit/continue paging, fieldSelector key=value;
//   - watch (?watch=1&resourceVersion=N): a chunked stream of newline-delimited {"type","object"} events
//     after N, then live ones, ended after timeoutSeconds; a resourceVersion older than the last
//     compaction gets what a real server sends: HTTP 200 and one ERROR event with a 410 "Expired" Status;
//   - optional bearer token (401 otherwise), and recorded answers served byte for byte (`raw`).
// Test code drives it: seeds recorded objects, applies recorded watch events, creates objects from
// manifests as an API server would (uid, resourceVersion, creationTimestamp), compacts, drops watches.
import { randomUUID } from "node:crypto";
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttps } from "node:https";
import type { AddressInfo } from "node:net";

export interface Obj {
  kind?: string;
  apiVersion?: string;
  metadata: { name: string; namespace?: string; uid: string; resourceVersion?: string; [k: string]: unknown };
  spec?: Record<string, any>;
  status?: Record<string, any>;
  [k: string]: unknown;
}

interface Collection {
  kind: string;
  apiVersion: string;
  namespaced: boolean;
  objects: Map<string, Obj>;
  /** Every change, in order, for watches that start from an older resourceVersion. */
  log: { rv: number; type: string; object: Obj }[];
}

interface Watcher {
  path: string;
  filter: (o: Obj) => boolean;
  res: ServerResponse;
  timer: NodeJS.Timeout;
}

export interface ReplayOptions {
  /** Require "Authorization: Bearer <token>". */
  token?: string;
  /** Serve HTTPS with this certificate. */
  tls?: { cert: Buffer; key: Buffer };
}

const fieldOf = (o: Obj, path: string): unknown => path.split(".").reduce<any>((v, k) => (v == null ? undefined : v[k]), o);

export class ReplayApiServer {
  private readonly server: Server;
  private readonly collections = new Map<string, Collection>();
  private readonly watchers = new Set<Watcher>();
  private readonly rawAnswers = new Map<string, { body: string; chunk: number }>();
  /** Watches of these paths get no answer at all, not even headers (a stuck proxy). */
  readonly stalled = new Set<string>();
  private rv = 1;
  private compacted = 0;
  /** Every request's path and query, for assertions. */
  readonly requests: string[] = [];
  url = "";

  constructor(private readonly opts: ReplayOptions = {}) {
    const handler = (req: IncomingMessage, res: ServerResponse) => this.handle(req, res);
    this.server = opts.tls ? createHttps({ cert: opts.tls.cert, key: opts.tls.key }, handler) : createHttp(handler);
  }

  async listen(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.url = `${this.opts.tls ? "https" : "http"}://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async close(): Promise<void> {
    this.dropWatches();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  get resourceVersion(): number {
    return this.rv;
  }

  /** Declares a collection (e.g. "/api/v1/pods", "Pod", "v1"). */
  collection(path: string, kind: string, apiVersion: string, namespaced: boolean): void {
    if (!this.collections.has(path)) this.collections.set(path, { kind, apiVersion, namespaced, objects: new Map(), log: [] });
  }

  private col(path: string): Collection {
    const c = this.collections.get(path);
    if (!c) throw new Error(`replay harness: no collection ${path}`);
    return c;
  }

  /** Recorded objects, as they were at the recording's resourceVersion (not announced to watches). */
  seed(path: string, items: Obj[], listResourceVersion?: number): void {
    const c = this.col(path);
    for (const o of items) {
      c.objects.set(o.metadata.uid, o);
      this.rv = Math.max(this.rv, Number(o.metadata.resourceVersion ?? 0));
    }
    if (listResourceVersion) this.rv = Math.max(this.rv, listResourceVersion);
  }

  /** A recorded watch event: applied and sent to the watches; keeps the event's resourceVersion when newer. */
  apply(path: string, type: "ADDED" | "MODIFIED" | "DELETED", object: Obj): void {
    const c = this.col(path);
    const recorded = Number(object.metadata.resourceVersion ?? 0);
    this.rv = recorded > this.rv ? recorded : this.rv + 1;
    const o = { kind: c.kind, apiVersion: c.apiVersion, ...object, metadata: { ...object.metadata, resourceVersion: String(this.rv) } };
    if (type === "DELETED") c.objects.delete(o.metadata.uid);
    else c.objects.set(o.metadata.uid, o);
    c.log.push({ rv: this.rv, type, object: o });
    for (const w of this.watchers) if (w.path === path && w.filter(o)) this.send(w.res, type, o);
  }

  /** What an API server does on create: uid, resourceVersion, creationTimestamp, default namespace. */
  create(path: string, manifest: Record<string, any>): Obj {
    const c = this.col(path);
    const { kind: _k, apiVersion: _a, ...rest } = manifest;
    const metadata = { ...(rest.metadata ?? {}), uid: randomUUID(), creationTimestamp: new Date().toISOString() } as Obj["metadata"];
    if (c.namespaced && !metadata.namespace) metadata.namespace = "default";
    const o = { ...rest, metadata } as Obj;
    this.apply(path, "ADDED", o);
    return c.objects.get(metadata.uid)!;
  }

  get(path: string, name: string, namespace?: string): Obj | undefined {
    return [...this.col(path).objects.values()].find((o) => o.metadata.name === name && (namespace === undefined || o.metadata.namespace === namespace));
  }

  /** Changes an object without telling any watch (what a watcher misses while disconnected). */
  silently(path: string, fn: (objects: Map<string, Obj>) => void): void {
    fn(this.col(path).objects);
    this.rv++;
  }

  /** Forgets history up to now: a watch from an older resourceVersion gets 410 Gone. */
  compact(): void {
    this.compacted = this.rv;
    for (const c of this.collections.values()) c.log = [];
  }

  /** Ends every open watch (a dropped connection or an API server restart). */
  dropWatches(): void {
    for (const w of this.watchers) {
      clearTimeout(w.timer);
      w.res.end();
    }
    this.watchers.clear();
  }

  get openWatches(): number {
    return this.watchers.size;
  }

  /** Serves a recorded answer byte for byte for this exact path and query, in chunks of `chunk` bytes. */
  raw(pathAndQuery: string, body: string, chunk = 1 << 20): void {
    this.rawAnswers.set(pathAndQuery, { body, chunk });
  }

  private send(res: ServerResponse, type: string, object: unknown): void {
    res.write(`${JSON.stringify({ type, object })}\n`);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const u = new URL(req.url ?? "/", "http://replay");
    this.requests.push(u.pathname + u.search);
    if (this.opts.token && req.headers.authorization !== `Bearer ${this.opts.token}`) {
      res.writeHead(401, { "content-type": "application/json" });
      res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", message: "Unauthorized", reason: "Unauthorized", code: 401 }));
      return;
    }
    const raw = this.rawAnswers.get(u.pathname + u.search);
    if (raw) {
      res.writeHead(200, { "content-type": "application/json" });
      for (let i = 0; i < raw.body.length; i += raw.chunk) res.write(raw.body.slice(i, i + raw.chunk));
      res.end();
      return;
    }
    const c = this.collections.get(u.pathname);
    if (!c || req.method !== "GET") {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          kind: "Status",
          apiVersion: "v1",
          status: "Failure",
          message: `the server could not find the requested resource`,
          reason: "NotFound",
          code: 404,
        }),
      );
      return;
    }
    const selector = u.searchParams.get("fieldSelector");
    const filter = (o: Obj) => {
      if (!selector) return true;
      return selector.split(",").every((term) => {
        const [k, v] = term.split("=");
        return String(fieldOf(o, k!) ?? "") === v;
      });
    };
    if (u.searchParams.get("watch") === "1" || u.searchParams.get("watch") === "true") {
      if (this.stalled.has(u.pathname)) return;
      return this.watch(u, c, filter, res);
    }
    const all = [...c.objects.values()].filter(filter);
    const limit = Number(u.searchParams.get("limit") || all.length || 1);
    const start = Number(u.searchParams.get("continue") ? Buffer.from(u.searchParams.get("continue")!, "base64url").toString() : 0);
    const page = all.slice(start, start + limit);
    const metadata: Record<string, string> = { resourceVersion: String(this.rv) };
    if (start + limit < all.length) metadata.continue = Buffer.from(String(start + limit)).toString("base64url");
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ kind: `${c.kind}List`, apiVersion: c.apiVersion, metadata, items: page }));
  }

  private watch(u: URL, c: Collection, filter: (o: Obj) => boolean, res: ServerResponse): void {
    const from = Number(u.searchParams.get("resourceVersion") || this.rv);
    res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
    // The API server answers a watch's headers at once; events follow as they come.
    res.flushHeaders();
    if (from < this.compacted) {
      this.send(res, "ERROR", {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message: `too old resource version: ${from} (${this.compacted})`,
        reason: "Expired",
        code: 410,
      });
      res.end();
      return;
    }
    for (const e of c.log) if (e.rv > from && filter(e.object)) this.send(res, e.type, e.object);
    const timeout = Number(u.searchParams.get("timeoutSeconds") || 300) * 1000;
    const w: Watcher = {
      path: u.pathname,
      filter,
      res,
      timer: setTimeout(() => {
        this.watchers.delete(w);
        res.end();
      }, timeout),
    };
    this.watchers.add(w);
    res.on("close", () => {
      clearTimeout(w.timer);
      this.watchers.delete(w);
    });
  }
}

/** The collections the k8s probe asks for, with their kinds. */
export const COLLECTIONS: [path: string, kind: string, apiVersion: string, namespaced: boolean][] = [
  ["/api/v1/namespaces", "Namespace", "v1", false],
  ["/api/v1/nodes", "Node", "v1", false],
  ["/api/v1/pods", "Pod", "v1", true],
  ["/api/v1/services", "Service", "v1", true],
  ["/api/v1/endpoints", "Endpoints", "v1", true],
  ["/apis/apps/v1/deployments", "Deployment", "apps/v1", true],
  ["/apis/apps/v1/replicasets", "ReplicaSet", "apps/v1", true],
  ["/api/v1/replicationcontrollers", "ReplicationController", "v1", true],
  ["/apis/apps/v1/daemonsets", "DaemonSet", "apps/v1", true],
  ["/apis/apps/v1/statefulsets", "StatefulSet", "apps/v1", true],
  ["/apis/batch/v1/jobs", "Job", "batch/v1", true],
  ["/apis/batch/v1/cronjobs", "CronJob", "batch/v1", true],
  ["/apis/networking.k8s.io/v1/ingresses", "Ingress", "networking.k8s.io/v1", true],
  ["/apis/networking.k8s.io/v1/networkpolicies", "NetworkPolicy", "networking.k8s.io/v1", true],
  ["/api/v1/persistentvolumes", "PersistentVolume", "v1", false],
  ["/api/v1/persistentvolumeclaims", "PersistentVolumeClaim", "v1", true],
  ["/apis/storage.k8s.io/v1/storageclasses", "StorageClass", "storage.k8s.io/v1", false],
  ["/api/v1/configmaps", "ConfigMap", "v1", true],
  ["/api/v1/secrets", "Secret", "v1", true],
];

/** A harness with every collection the probe follows, empty. */
export function emptyCluster(opts: ReplayOptions = {}): ReplayApiServer {
  const s = new ReplayApiServer(opts);
  for (const [path, kind, apiVersion, namespaced] of COLLECTIONS) s.collection(path, kind, apiVersion, namespaced);
  return s;
}
