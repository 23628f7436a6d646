// A real Prometheus for a test: the `prometheus` binary (Debian's package, installed by
// `scripts/install.sh --test`; PROMETHEUS_BIN overrides the path) on a temporary config and TSDB and a free
// 127.0.0.1 port, scraping the given /metrics endpoints. Also what Grafana's Prometheus data source does to
// a panel's expression before Prometheus sees it ($__interval, $__rate_interval, $__range…), so a test can
// run the dashboards' PromQL through the real HTTP API.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify as toYaml } from "yaml";
import { freePort } from "./kafka.ts";
import { waitFor } from "./skystream-process.ts";

export interface ScrapeJob {
  job: string;
  /** host:port of each /metrics endpoint. */
  targets: string[];
}

/** An instant vector sample as /api/v1/query returns it: labels and [unix seconds, value as text]. */
export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

export type PromResponse =
  | { status: "success"; data: { resultType: "vector"; result: PromSample[] } | { resultType: "scalar" | "string"; result: [number, string] } }
  | { status: "error"; errorType: string; error: string };

export interface PrometheusServer {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** Its log (stderr), for failure reports. */
  output(): string;
  /** GET /api/v1/query at `time` (ms since the epoch; now by default). A PromQL error is a status "error" answer, not a throw. */
  query(expr: string, time?: number): Promise<PromResponse>;
  /** Waits until every target has been scraped successfully at least once. */
  waitForTargets(timeoutMs?: number): Promise<void>;
  /** SIGTERM (SIGKILL after 10 s), then removes its directory. */
  stop(): Promise<void>;
}

export async function startPrometheus(jobs: ScrapeJob[], opts: { scrapeIntervalMs?: number; timeoutMs?: number } = {}): Promise<PrometheusServer> {
  const bin = process.env.PROMETHEUS_BIN ?? "prometheus";
  const every = `${opts.scrapeIntervalMs ?? 1000}ms`;
  const dir = mkdtempSync(join(tmpdir(), "skystream-prometheus-"));
  const config = join(dir, "prometheus.yml");
  writeFileSync(
    config,
    toYaml({
      global: { scrape_interval: every, scrape_timeout: every, evaluation_interval: every },
      scrape_configs: jobs.map((j) => ({ job_name: j.job, metrics_path: "/metrics", static_configs: [{ targets: j.targets }] })),
    }),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    bin,
    [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`, "--log.level=info"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  let spawnError: Error | undefined;
  child.once("error", (err) => (spawnError = err));
  const exited = new Promise<void>((r) => child.once("close", () => r()));
  const gone = () => spawnError !== undefined || child.exitCode !== null || child.signalCode !== null;

  const stop = async () => {
    if (!gone()) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await waitFor(
      "prometheus to be ready",
      async () => {
        if (spawnError)
          throw new Error(
            `exited (could not run ${bin}: ${spawnError.message}); install it with "scripts/install.sh --test" (apt package prometheus) or set PROMETHEUS_BIN`,
          );
        if (gone()) throw new Error(`exited (${child.exitCode ?? child.signalCode}) before serving:\n${out.slice(-3000)}`);
        return (await fetch(`${url}/-/ready`)).ok || undefined;
      },
      opts.timeoutMs ?? 30_000,
      100,
    );
  } catch (err) {
    await stop();
    throw new Error(`prometheus did not start: ${(err as Error).message}\n${out.slice(-3000)}`, { cause: err });
  }

  return {
    url,
    output: () => out,
    async query(expr, time = Date.now()) {
      const res = await fetch(`${url}/api/v1/query`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ query: expr, time: String(time / 1000) }),
      });
      return (await res.json()) as PromResponse;
    },
    async waitForTargets(timeoutMs = 30_000) {
      let last = "";
      await waitFor(
        "every scrape target up",
        async () => {
          const body = (await (await fetch(`${url}/api/v1/targets?state=active`)).json()) as {
            data: { activeTargets: { scrapeUrl: string; health: string; lastError: string }[] };
          };
          const targets = body.data.activeTargets;
          last = targets.map((t) => `${t.scrapeUrl}: ${t.health} ${t.lastError}`).join("; ");
          return targets.length === jobs.reduce((n, j) => n + j.targets.length, 0) && targets.every((t) => t.health === "up");
        },
        timeoutMs,
      ).catch((err: Error) => {
        throw new Error(`${err.message} (${last})`);
      });
    },
    stop,
  };
}

export interface PromQueryContext {
  /** The dashboard's time range, ms. */
  rangeMs: number;
  /** The interval Grafana computed for the panel (time range / max data points, rounded), ms. */
  intervalMs: number;
  /** The data source's scrape interval (jsonData.timeInterval), ms: Grafana's floor for the interval. */
  scrapeIntervalMs: number;
  /** Template variables by name (a single value each). */
  vars?: Record<string, string>;
}

/** Grafana's formatting of $__interval: the largest whole unit (90 s is "1m"). */
function formatInterval(ms: number): string {
  const units: [string, number][] = [
    ["y", 365 * 86_400_000],
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
  ];
  for (const [unit, size] of units) if (ms >= size) return `${Math.floor(ms / size)}${unit}`;
  return `${Math.max(1, Math.floor(ms))}ms`;
}

/** Go's time.Duration.String() for whole milliseconds, what Grafana writes for $__rate_interval ("1m1s", "500ms"). */
function goDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = ((ms % 60_000) / 1000).toString();
  return `${h ? `${h}h` : ""}${h || m ? `${m}m` : ""}${s}s`;
}

/** Grafana's $__rate_interval, ms: max($__interval + scrape interval, 4 × scrape interval). */
export function rateIntervalMs(ctx: Pick<PromQueryContext, "intervalMs" | "scrapeIntervalMs">): number {
  return Math.max(Math.max(ctx.intervalMs, ctx.scrapeIntervalMs) + ctx.scrapeIntervalMs, 4 * ctx.scrapeIntervalMs);
}

/**
 * A Prometheus panel's expression as Grafana sends it: template variables ($name, ${name}), then the data
 * source's variables, $__interval (floored at the scrape interval), $__rate_interval = max($__interval +
 * scrape interval, 4 × scrape interval), $__range (whole seconds) and their _ms/_s forms.
 */
export function expandPromQL(expr: string, ctx: PromQueryContext): string {
  const vars = ctx.vars ?? {};
  const s = expr.replace(/\$\{([A-Za-z_]\w*)\}|\$([A-Za-z_]\w*)/g, (whole, braced: string | undefined, bare: string | undefined) => {
    const name = braced ?? bare!;
    if (name.startsWith("__")) return `$${name}`;
    const v = vars[name];
    if (v === undefined) throw new Error(`the expression uses $${name}, which the test does not define`);
    return v;
  });
  const interval = Math.max(ctx.intervalMs, ctx.scrapeIntervalMs);
  const rate = rateIntervalMs(ctx);
  const rangeS = Math.round(ctx.rangeMs / 1000);
  // Longest names first: $__interval is a prefix of $__interval_ms.
  const values: [string, string][] = [
    ["$__rate_interval_ms", String(rate)],
    ["$__rate_interval", goDuration(rate)],
    ["$__interval_ms", String(interval)],
    ["$__interval", formatInterval(interval)],
    ["$__range_ms", String(ctx.rangeMs)],
    ["$__range_s", String(rangeS)],
    ["$__range", `${rangeS}s`],
  ];
  let out = s;
  for (const [name, value] of values) out = out.replaceAll(name, value);
  const left = /\$__\w+/.exec(out);
  if (left) throw new Error(`${left[0]} is not expanded by expandPromQL (in ${expr})`);
  return out;
}
