// Prometheus metrics (prom-client) and the small HTTP server every long-running process exposes:
// GET /metrics, GET /healthz (200 when every registered healthcheck passes, 503 with the failures).
import { createServer, type Server } from "node:http";
import { Registry, collectDefaultMetrics } from "prom-client";
import { z } from "zod";
import { section } from "./config/types.js";
import type { Logger } from "pino";

export { Counter, Gauge, Histogram, Registry as MetricsRegistry } from "prom-client";

export const metricsConfig = section({
  /** Address of /metrics and /healthz, host:port; "off" disables it. Default by role: pipeline and all-in-one 9464, agent 9465. */
  listen: z.string().default(""),
});

export function createRegistry(component: string): Registry {
  const r = new Registry();
  r.setDefaultLabels({ component });
  collectDefaultMetrics({ register: r, prefix: "skystream_" });
  return r;
}

export type Healthcheck = () => Promise<void>;

export interface MetricsServer {
  address: string;
  close(): Promise<void>;
}

export async function startMetricsServer(
  listen: string,
  registry: Registry,
  health: Map<string, Healthcheck>,
  log: Logger,
): Promise<MetricsServer | undefined> {
  if (!listen || listen === "off") return undefined;
  const i = listen.lastIndexOf(":");
  const host = listen.slice(0, i) || "127.0.0.1";
  const port = Number(listen.slice(i + 1));
  const server: Server = createServer((req, res) => {
    if (req.url === "/metrics") {
      registry
        .metrics()
        .then((text) => {
          res.writeHead(200, { "content-type": registry.contentType });
          res.end(text);
        })
        .catch((err: Error) => {
          res.writeHead(500);
          res.end(err.message);
        });
    } else if (req.url === "/healthz") {
      void Promise.all(
        [...health].map(async ([name, check]) => {
          try {
            await check();
            return [name, "ok"] as const;
          } catch (err) {
            return [name, (err as Error).message] as const;
          }
        }),
      ).then((results) => {
        const failed = results.filter(([, s]) => s !== "ok");
        res.writeHead(failed.length ? 503 : 200, { "content-type": "application/json" });
        res.end(JSON.stringify(Object.fromEntries(results)));
      });
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as { address: string; port: number };
  const address = `${addr.address}:${addr.port}`;
  log.info({ address }, "metrics server listening");
  return {
    address,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** The registry's metric of that name, made by `make` the first time (for metrics several instances share). */
export function sharedMetric<M>(registry: Registry, name: string, make: () => M): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? make();
}
