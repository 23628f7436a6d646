// What every long-running command shares: config, logger, metrics server, bus, shutdown on signals.
import { TOPICS } from "@skystream/schemas";
import {
  createBus,
  createLogger,
  createRegistry,
  loadConfig,
  startMetricsServer,
  type Bus,
  type Healthcheck,
  type Logger,
  type MetricsRegistry,
  type MetricsServer,
} from "@skystream/common";
import { skystreamConfig, type SkystreamConfig } from "../config.js";

export interface GlobalOptions {
  config?: string;
  logLevel?: string;
}

export function readConfig(opts: GlobalOptions, overrides: Record<string, unknown> = {}): SkystreamConfig {
  const o: Record<string, unknown> = { ...overrides };
  if (opts.logLevel) o.log = { ...((o.log as object) ?? {}), level: opts.logLevel };
  return loadConfig(skystreamConfig, { file: opts.config, overrides: o });
}

export interface Runtime {
  cfg: SkystreamConfig;
  log: Logger;
  metrics: MetricsRegistry;
  health: Map<string, Healthcheck>;
  bus: Bus;
  server?: MetricsServer;
  /** Runs `stop` then close() once on SIGINT/SIGTERM; a second signal exits at once. */
  onShutdown(stop: () => Promise<void>): Promise<void>;
  /** Closes the bus and the metrics server. */
  close(): Promise<void>;
}

export async function boot(component: string, cfg: SkystreamConfig, busType = cfg.bus.type): Promise<Runtime> {
  const log = createLogger(cfg.log, `skystream-${component}`);
  const metrics = createRegistry(component);
  const health = new Map<string, Healthcheck>();
  const bus = createBus(busType, cfg.kafka, log);
  health.set("bus", () => bus.healthcheck());
  const listen = cfg.metrics.listen || (component === "agent" ? "127.0.0.1:9465" : "127.0.0.1:9464");
  const server = await startMetricsServer(listen, metrics, health, log);
  const close = async () => {
    await bus.close().catch(() => undefined);
    await server?.close();
  };
  return {
    close,
    cfg,
    log,
    metrics,
    health,
    bus,
    server,
    onShutdown(stop) {
      return new Promise((resolve) => {
        let stopping = false;
        const handler = (signal: string) => {
          if (stopping) {
            log.warn({ signal }, "second signal: exiting now");
            process.exit(130);
          }
          stopping = true;
          log.info({ signal }, "stopping");
          stop()
            .catch((err: unknown) => log.error({ err }, "error while stopping"))
            .finally(() => void close().then(resolve));
        };
        process.once("SIGINT", handler);
        process.once("SIGTERM", handler);
      });
    },
  };
}

export async function ensureTopics(rt: Runtime, topics: string[]): Promise<void> {
  if (!rt.cfg.kafka.topics.create && rt.bus.kind !== "memory") return;
  const { partitions, replication_factor } = rt.cfg.kafka.topics;
  await rt.bus.ensureTopics(
    topics.map((topic) => ({
      topic,
      partitions: topic === TOPICS.dlq ? 1 : partitions,
      replicationFactor: replication_factor,
      // Capture orders are state (the latest per capture), which agents replay at every start.
      ...(topic === rt.cfg.agent.captures.topic ? { config: { "cleanup.policy": "compact" } } : {}),
    })),
  );
}
