// Alerts: a Gremlin expression evaluated as the topology changes ("graph") or periodically
// ("duration:10s"). It fires when its result is not empty and differs from the result it last fired
// with; an empty result re-arms it. A firing is stored (alert_firings), sent to WebSocket subscribers,
// and POSTed to the alert's webhook when it has one ({UUID, Name, Timestamp, ReasonData}).
// Definitions live in ClickHouse (alerts); run the alert engine in one API process of a deployment.
import { isDeepStrictEqual } from "node:util";
import { errorMessage, type Logger } from "@skystream/common";
import { evaluateGremlin, type GraphSource } from "../gremlin/evaluate.js";
import { goDuration } from "../gremlin/time.js";
import type { Storage } from "../storage/clickhouse/index.js";

export interface Alert {
  UUID: string;
  Name: string;
  Description: string;
  Expression: string;
  Trigger: string;
  Action: string;
  CreateTime: number;
}

export interface AlertFiring {
  UUID: string;
  Name: string;
  Timestamp: number;
  ReasonData: unknown;
}

/** "graph", or "duration:<go duration>" (at least 1 s): the period in ms, 0 for graph. */
export function triggerPeriod(trigger: string): number | undefined {
  if (trigger === "" || trigger === "graph") return 0;
  const m = /^duration:(.+)$/.exec(trigger);
  const ms = m ? goDuration(m[1]!) : undefined;
  return ms !== undefined && ms >= 1000 ? ms : undefined;
}

interface Armed {
  alert: Alert;
  /** ms since the epoch when it ends by itself (X-Resource-TTL); 0: until deleted. */
  expires: number;
  /** The result it last fired with; undefined while armed. */
  last?: unknown;
  timer?: NodeJS.Timeout;
  running: boolean;
}

export class AlertEngine {
  private readonly alerts = new Map<string, Armed>();
  private readonly listeners = new Set<(f: AlertFiring) => void>();
  private graphTimer?: NodeJS.Timeout;
  private expiryTimer?: NodeJS.Timeout;
  /** Versions of definition rows: later writes win even within one millisecond. */
  private seq = 0;

  constructor(
    private readonly storage: Storage,
    private readonly source: GraphSource,
    private readonly log: Logger,
    private readonly opts: { queryTimeoutMs: number; debounceMs?: number; webhookTimeoutMs?: number } = { queryTimeoutMs: 5000 },
  ) {}

  private get db() {
    return this.storage.database;
  }

  async start(): Promise<void> {
    const rows = await (
      await this.storage.client.query({
        query: `SELECT UUID, Name, Description, Expression, Trigger, Action, toUnixTimestamp64Milli(CreateTime) AS CreateTime,
                  if(isNull(Expires), 0, toUnixTimestamp64Milli(assumeNotNull(Expires))) AS Expires
                FROM ${this.db}.alerts FINAL SETTINGS output_format_json_quote_64bit_integers = 0`,
        format: "JSONEachRow",
      })
    ).json<Alert & { Expires: number }>();
    const now = Date.now();
    for (const { Expires, ...a } of rows) if (!Number(Expires) || Number(Expires) > now) this.arm({ ...a, CreateTime: Number(a.CreateTime) }, Number(Expires));
    this.expiryTimer = setInterval(() => void this.expire(), 1000);
  }

  private async expire(): Promise<void> {
    const now = Date.now();
    for (const armed of [...this.alerts.values()])
      if (armed.expires && armed.expires <= now)
        await this.delete(armed.alert.UUID).catch((err: unknown) =>
          this.log.error({ alert: armed.alert.UUID, err: errorMessage(err) }, "expiring an alert failed"),
        );
  }

  list(): Alert[] {
    return [...this.alerts.values()].map((a) => a.alert).sort((x, y) => x.CreateTime - y.CreateTime);
  }

  get(uuid: string): Alert | undefined {
    return this.alerts.get(uuid)?.alert;
  }

  onFire(listener: (f: AlertFiring) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private async write(a: Alert, deleted: boolean, expires = 0): Promise<void> {
    await this.storage.insertRaw({
      table: `${this.db}.alerts`,
      columns: ["UUID", "Name", "Description", "Expression", "Trigger", "Action", "CreateTime", "Expires", "Version", "Deleted"],
      format: "JSONEachRow",
      data: Buffer.from(`${JSON.stringify({ ...a, Expires: expires || null, Version: Date.now() * 1000 + (this.seq++ % 1000), Deleted: deleted ? 1 : 0 })}\n`),
    });
  }

  /** Stores and arms an alert; `ttlMs` (X-Resource-TTL) > 0: it is deleted by itself after that long. */
  async create(a: Alert, ttlMs = 0): Promise<void> {
    const expires = ttlMs > 0 ? a.CreateTime + ttlMs : 0;
    await this.write(a, false, expires);
    this.arm(a, expires);
  }

  /** Replaces an alert's definition (a PATCH): evaluated afresh, as if just created. */
  async update(a: Alert): Promise<void> {
    const armed = this.alerts.get(a.UUID);
    if (!armed) throw new Error(`no alert ${a.UUID}`);
    await this.write(a, false, armed.expires);
    clearInterval(armed.timer);
    this.arm(a, armed.expires);
  }

  async delete(uuid: string): Promise<boolean> {
    const armed = this.alerts.get(uuid);
    if (!armed) return false;
    await this.write(armed.alert, true);
    clearInterval(armed.timer);
    this.alerts.delete(uuid);
    return true;
  }

  private arm(a: Alert, expires = 0): void {
    const period = triggerPeriod(a.Trigger) ?? 0;
    const armed: Armed = { alert: a, expires, running: false };
    if (period > 0) armed.timer = setInterval(() => void this.evaluate(armed), period);
    this.alerts.set(a.UUID, armed);
    void this.evaluate(armed);
  }

  /** The topology changed: graph-triggered alerts are evaluated again (at most every debounceMs). */
  graphChanged(): void {
    this.graphTimer ??= setTimeout(() => {
      this.graphTimer = undefined;
      for (const armed of this.alerts.values()) if ((triggerPeriod(armed.alert.Trigger) ?? 0) === 0) void this.evaluate(armed);
    }, this.opts.debounceMs ?? 200);
  }

  private async evaluate(armed: Armed): Promise<void> {
    if (armed.running) return;
    armed.running = true;
    try {
      const r = await evaluateGremlin(armed.alert.Expression, this.source, { timeoutMs: this.opts.queryTimeoutMs });
      const result = r.json;
      const empty = result.length === 0 || (r.value.kind === "number" && r.value.value === 0);
      if (empty) {
        armed.last = undefined;
        return;
      }
      if (armed.last !== undefined && isDeepStrictEqual(armed.last, result)) return;
      armed.last = result;
      await this.fire(armed.alert, result);
    } catch (err) {
      this.log.warn({ alert: armed.alert.UUID, err: errorMessage(err) }, "alert evaluation failed");
    } finally {
      armed.running = false;
    }
  }

  private async fire(a: Alert, reason: unknown): Promise<void> {
    const firing: AlertFiring = { UUID: a.UUID, Name: a.Name, Timestamp: Date.now(), ReasonData: reason };
    for (const l of this.listeners) l(firing);
    let status = 0;
    if (/^https?:\/\//.test(a.Action)) {
      try {
        const res = await fetch(a.Action, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(firing),
          signal: AbortSignal.timeout(this.opts.webhookTimeoutMs ?? 5000),
        });
        status = res.status;
      } catch (err) {
        status = -1;
        this.log.warn({ alert: a.UUID, action: a.Action, err: errorMessage(err) }, "alert webhook failed");
      }
    }
    this.log.info({ alert: a.UUID, name: a.Name, action_status: status }, "alert fired");
    await this.storage
      .insertRaw({
        table: `${this.db}.alert_firings`,
        columns: ["Time", "UUID", "Name", "ReasonData", "Action", "ActionStatus"],
        format: "JSONEachRow",
        data: Buffer.from(
          `${JSON.stringify({ Time: firing.Timestamp, UUID: a.UUID, Name: a.Name, ReasonData: JSON.stringify(reason), Action: a.Action, ActionStatus: status })}\n`,
        ),
      })
      .catch((err: unknown) => this.log.error({ alert: a.UUID, err: errorMessage(err) }, "storing an alert firing failed"));
  }

  async firings(uuid: string, limit: number): Promise<{ Time: number; ReasonData: unknown; ActionStatus: number }[]> {
    const rows = await (
      await this.storage.client.query({
        query: `SELECT toUnixTimestamp64Milli(Time) AS Time, ReasonData, ActionStatus FROM ${this.db}.alert_firings
                WHERE UUID = {uuid:String} ORDER BY Time DESC LIMIT {limit:UInt32} SETTINGS output_format_json_quote_64bit_integers = 0`,
        query_params: { uuid, limit },
        format: "JSONEachRow",
      })
    ).json<{ Time: number; ReasonData: string; ActionStatus: number }>();
    return rows.map((r) => ({ Time: Number(r.Time), ReasonData: JSON.parse(r.ReasonData) as unknown, ActionStatus: Number(r.ActionStatus) }));
  }

  stop(): void {
    clearTimeout(this.graphTimer);
    clearInterval(this.expiryTimer);
    for (const a of this.alerts.values()) clearInterval(a.timer);
  }
}
