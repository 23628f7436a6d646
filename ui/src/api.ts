// The query API from the page: same origin, the token from /login kept for the tab's life, 401 → login.
import type { ApiGraph } from "@skystream/views";

let token = sessionStorage.getItem("skystream-token") ?? "";
let onUnauthorized: () => Promise<void> = async () => {};

export function whenUnauthorized(f: () => Promise<void>): void {
  onUnauthorized = f;
}

export async function login(username: string, password: string): Promise<void> {
  const r = await fetch("login", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username, password }) });
  if (!r.ok) throw new Error(((await r.json().catch(() => ({}))) as { error?: string }).error ?? `login failed (${r.status})`);
  token = ((await r.json()) as { Token: string }).Token;
  sessionStorage.setItem("skystream-token", token);
}

export async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
  const r = await fetch(path, {
    ...init,
    headers: { ...(init.body ? { "content-type": "application/json" } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}), ...init.headers },
  });
  if (r.status === 401) {
    await onUnauthorized();
    return call<T>(path, init);
  }
  if (!r.ok) throw new Error(((await r.json().catch(() => ({}))) as { error?: string }).error ?? `${r.status} ${r.statusText}`);
  if (r.status === 204) return [] as T;
  const type = r.headers.get("content-type") ?? "";
  return (type.includes("json") ? await r.json() : await r.text()) as T;
}

export const gremlin = <T = unknown[]>(query: string) => call<T>("api/topology", { method: "POST", body: JSON.stringify({ GremlinQuery: query }) });

/** The graph now, or as it was at `at` (ms). */
export async function graphAt(at?: number): Promise<ApiGraph> {
  if (at === undefined) return call<ApiGraph>("api/topology");
  const [g] = await gremlin<ApiGraph[]>(`G.At(${Math.round(at)}).V().SubGraph()`);
  return g ?? { Nodes: [], Edges: [] };
}

/** WebSocket graph events: calls `changed` after each batch (the page re-reads the graph). */
export function subscribe(changed: () => void): () => void {
  let ws: WebSocket | undefined;
  let closed = false;
  const open = () => {
    const url = new URL("ws/subscriber", location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    if (token) url.searchParams.set("x-auth-token", token);
    ws = new WebSocket(url);
    ws.onmessage = (m) => {
      const type = (JSON.parse(String(m.data)) as { Type?: string }).Type ?? "";
      if (/^(Node|Edge)(Added|Updated|Deleted)$/.test(type)) changed();
    };
    ws.onclose = () => {
      if (!closed) setTimeout(open, 2000);
    };
  };
  open();
  return () => {
    closed = true;
    ws?.close();
  };
}
