// The two API server calls the probe needs, on node:http(s): a paged list of a collection, and a watch
// (a chunked response of newline-delimited JSON events) from a resourceVersion. Errors keep the HTTP
// status and the API's Status reason so the reflector can tell "410 Gone" (relist) from the rest.
import { request as httpRequest, Agent as HttpAgent, type IncomingMessage } from "node:http";
import { request as httpsRequest, Agent as HttpsAgent } from "node:https";
import { SkystreamError } from "@skystream/common";
import type { ApiEndpoint } from "./kubeconfig.js";
import type { KObject } from "./objects.js";

export interface ListResult {
  items: KObject[];
  resourceVersion: string;
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

export interface WatchEvent {
  type: WatchEventType;
  object: KObject & { code?: number; reason?: string; message?: string };
}

/** An API call that failed: `status` is the HTTP status (410 when the resourceVersion is too old). */
export class ApiError extends SkystreamError {
  constructor(
    readonly status: number,
    message: string,
    options?: ErrorOptions,
  ) {
    super(status === 401 || status === 403 ? "SKY_ERR_K8S_AUTH" : "SKY_ERR_K8S_API", message, options);
  }
}

export interface Watch {
  /** Resolves when the server ends the stream (its timeout) or it fails; rejects on an HTTP error at start. */
  done: Promise<void>;
  close(): void;
}

export class KubeClient {
  private readonly agent: HttpAgent;
  private readonly tls: boolean;

  constructor(private readonly ep: ApiEndpoint) {
    this.tls = ep.server.protocol === "https:";
    const tlsOpts = { ca: ep.ca, cert: ep.cert, key: ep.key, servername: ep.servername, rejectUnauthorized: ep.rejectUnauthorized };
    this.agent = this.tls ? new HttpsAgent({ keepAlive: true, ...tlsOpts }) : new HttpAgent({ keepAlive: true });
  }

  private url(path: string, query: Record<string, string | undefined>): URL {
    const base = this.ep.server.pathname.replace(/\/$/, "");
    const u = new URL(base + path, this.ep.server);
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== "") u.searchParams.set(k, v);
    return u;
  }

  private async open(u: URL, timeoutMs: number, signal?: AbortSignal): Promise<{ res: IncomingMessage; abort: () => void }> {
    const headers: Record<string, string> = { accept: "application/json", "user-agent": "skystream-agent/k8s" };
    const auth = await this.ep.authorization();
    if (auth) headers.authorization = auth;
    return new Promise((resolve, reject) => {
      const req = (this.tls ? httpsRequest : httpRequest)(u, { method: "GET", headers, agent: this.agent, timeout: timeoutMs, signal }, (res) => {
        if ((res.statusCode ?? 500) >= 300) {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (d: string) => {
            if (body.length < 4096) body += d;
          });
          res.on("end", () => reject(apiError(res.statusCode ?? 500, u, body)));
          res.on("error", reject);
          return;
        }
        resolve({ res, abort: () => req.destroy() });
      });
      req.on("timeout", () => req.destroy(new ApiError(0, `GET ${u.pathname}: no answer in ${timeoutMs} ms`)));
      req.on("error", (err) => reject(err instanceof ApiError ? err : new ApiError(0, `GET ${u.pathname}: ${err.message}`, { cause: err })));
      req.end();
    });
  }

  /** The whole collection, following `continue` tokens (pages of `pageSize`). */
  async list(path: string, query: Record<string, string | undefined> = {}, signal?: AbortSignal, pageSize = 500): Promise<ListResult> {
    const items: KObject[] = [];
    let cont: string | undefined;
    let resourceVersion = "";
    do {
      const u = this.url(path, { ...query, limit: String(pageSize), continue: cont });
      const { res } = await this.open(u, 60_000, signal);
      const body = await readAll(res);
      let doc: { items?: KObject[]; metadata?: { resourceVersion?: string; continue?: string } };
      try {
        doc = JSON.parse(body);
      } catch (err) {
        throw new ApiError(res.statusCode ?? 0, `GET ${u.pathname}: answer is not JSON`, { cause: err });
      }
      items.push(...(doc.items ?? []));
      resourceVersion = doc.metadata?.resourceVersion ?? resourceVersion;
      cont = doc.metadata?.continue || undefined;
    } while (cont);
    return { items, resourceVersion };
  }

  /** Starts a watch from `resourceVersion`; each event is handed to `onEvent` in order. */
  async watch(
    path: string,
    resourceVersion: string,
    timeoutSeconds: number,
    query: Record<string, string | undefined>,
    onEvent: (e: WatchEvent) => void,
    signal?: AbortSignal,
  ): Promise<Watch> {
    const u = this.url(path, { ...query, watch: "1", resourceVersion, allowWatchBookmarks: "true", timeoutSeconds: String(timeoutSeconds) });
    // Client-side guard a little past the server's own timeout: a silent, half-open connection ends too.
    const { res, abort } = await this.open(u, (timeoutSeconds + 30) * 1000, signal);
    let closed = false;
    const done = new Promise<void>((resolve) => {
      let buf = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buf += chunk;
        for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line || closed) continue;
          let e: WatchEvent;
          try {
            e = JSON.parse(line) as WatchEvent;
          } catch {
            // A line cut by a dropped connection: the stream is over, resume from the last good event.
            closed = true;
            abort();
            resolve();
            return;
          }
          onEvent(e);
        }
      });
      res.on("end", () => resolve());
      res.on("close", () => resolve());
      res.on("error", () => resolve());
    });
    return {
      done,
      close: () => {
        closed = true;
        abort();
      },
    };
  }

  close(): void {
    this.agent.destroy();
  }
}

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on("data", (d: Buffer) => chunks.push(d));
    res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    res.on("error", reject);
  });
}

function apiError(status: number, u: URL, body: string): ApiError {
  let detail = body.slice(0, 300);
  try {
    const s = JSON.parse(body) as { reason?: string; message?: string };
    detail = [s.reason, s.message].filter(Boolean).join(": ") || detail;
  } catch {
    /* not a Status object */
  }
  const hint =
    status === 401
      ? " (check the token or client certificate)"
      : status === 403
        ? " (the service account needs list and watch on it: see the README's RBAC)"
        : "";
  return new ApiError(status, `GET ${u.pathname}: HTTP ${status} ${detail}${hint}`);
}
