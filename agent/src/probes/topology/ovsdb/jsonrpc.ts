// A small OVSDB JSON-RPC client (RFC 7047) over a unix socket or TCP: requests, the server's echo
// keep-alives, and monitor updates. Messages are bare concatenated JSON objects, split by brace depth.
import { connect, type Socket } from "node:net";

export type Updates = Record<string, Record<string, { old?: Record<string, unknown>; new?: Record<string, unknown> }>>;

export class OvsdbClient {
  private sock?: Socket;
  private buf = "";
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  onUpdate?: (updates: Updates) => void;
  onClose?: (err?: Error) => void;

  constructor(private readonly address: string) {}

  async connect(): Promise<void> {
    const a = this.address;
    const sock = a.startsWith("tcp:") ? connect(Number(a.split(":")[2]), a.split(":")[1]) : connect(a.replace(/^unix:/, ""));
    await new Promise<void>((resolve, reject) => {
      sock.once("connect", resolve);
      sock.once("error", reject);
    });
    sock.setEncoding("utf8");
    sock.on("data", (d: string) => this.onData(d));
    sock.on("error", () => undefined);
    sock.on("close", () => {
      for (const p of this.pending.values()) p.reject(new Error("ovsdb connection closed"));
      this.pending.clear();
      this.onClose?.();
    });
    this.sock = sock;
  }

  call<T>(method: string, params: unknown[]): Promise<T> {
    const id = ++this.nextId;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.sock!.write(JSON.stringify({ id, method, params }));
    });
  }

  private onData(d: string): void {
    this.buf += d;
    let depth = 0;
    let inStr = false;
    let esc = false;
    let start = 0;
    for (let i = 0; i < this.buf.length; i++) {
      const ch = this.buf[i];
      if (inStr) {
        if (esc) esc = false;
        else if (ch === "\\") esc = true;
        else if (ch === '"') inStr = false;
        continue;
      }
      if (ch === '"') inStr = true;
      else if (ch === "{") depth++;
      else if (ch === "}" && --depth === 0) {
        this.dispatch(JSON.parse(this.buf.slice(start, i + 1)) as { id: unknown; method?: string; params?: unknown[]; result?: unknown; error?: unknown });
        start = i + 1;
      }
    }
    this.buf = this.buf.slice(start);
  }

  private dispatch(msg: { id: unknown; method?: string; params?: unknown[]; result?: unknown; error?: unknown }): void {
    if (msg.method === "echo") {
      this.sock?.write(JSON.stringify({ id: msg.id, result: msg.params, error: null }));
    } else if (msg.method === "update") {
      this.onUpdate?.(msg.params![1] as Updates);
    } else if (typeof msg.id === "number" && this.pending.has(msg.id)) {
      const p = this.pending.get(msg.id)!;
      this.pending.delete(msg.id);
      if (msg.error) p.reject(new Error(`ovsdb: ${JSON.stringify(msg.error)}`));
      else p.resolve(msg.result);
    }
  }

  close(): void {
    this.onClose = undefined;
    this.sock?.destroy();
  }
}

/** OVSDB atoms: ["uuid", x], ["set", [...]], ["map", [[k, v], ...]], or a plain value. */
export function ovsValue(v: unknown): unknown {
  if (Array.isArray(v) && v.length === 2 && typeof v[0] === "string") {
    const [kind, inner] = v as [string, unknown];
    if (kind === "uuid" || kind === "named-uuid") return inner;
    if (kind === "set") return (inner as unknown[]).map(ovsValue);
    if (kind === "map") return Object.fromEntries((inner as [unknown, unknown][]).map(([k, x]) => [String(ovsValue(k)), ovsValue(x)]));
  }
  return v;
}

/** A set column as a list (OVSDB sends a one-element set as the bare atom). */
export function ovsList(v: unknown): unknown[] {
  const x = ovsValue(v);
  return Array.isArray(x) ? x : x === undefined || x === null ? [] : [x];
}
