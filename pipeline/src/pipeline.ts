// A pipeline process: migrations, topics, then every configured sink, until stopped.
import type { AvroCodec } from "@skystream/schemas";
import { type Bus, type Healthcheck, type Logger, type MetricsRegistry, type Producer } from "@skystream/common";
import type { SkystreamConfig } from "./config.js";
import { migrate, type Storage } from "./storage/clickhouse/index.js";
import { sinks } from "./sinks/registry.js";
import type { Sink } from "./sinks/types.js";

export interface PipelineDeps {
  bus: Bus;
  storage: Storage;
  codec: AvroCodec;
  log: Logger;
  metrics: MetricsRegistry;
  health: Map<string, Healthcheck>;
}

export class Pipeline {
  private readonly sinks: Sink[];
  private readonly producer: Producer;

  constructor(
    private readonly cfg: SkystreamConfig,
    private readonly deps: PipelineDeps,
  ) {
    this.producer = deps.bus.producer();
    this.sinks = Object.entries(cfg.pipeline.sinks).map(([id, sinkCfg]) =>
      sinks.factoryOf(id)!.create(sinkCfg, {
        id,
        bus: deps.bus,
        producer: this.producer,
        storage: deps.storage,
        codec: deps.codec,
        log: deps.log,
        metrics: deps.metrics,
        groupId: cfg.pipeline.group_id,
        dlqTopic: cfg.pipeline.dlq_topic,
      }),
    );
  }

  /** Topics this pipeline reads and writes, for creation at start. */
  topics(): string[] {
    return [...new Set([...this.sinks.flatMap((s) => [...s.topics, ...(s.otherTopics ?? [])]), this.cfg.pipeline.dlq_topic])];
  }

  /** Records the sinks publish (the DLQ gets original bytes, not a schema of its own). */
  writes(): { topic: string; record: string }[] {
    return this.sinks.flatMap((s) => s.writes ?? []);
  }

  async start(): Promise<void> {
    await migrate(this.deps.storage, this.cfg.clickhouse, this.deps.log.child({ component: "migrations" }));
    await this.producer.connect();
    for (const s of this.sinks) {
      await s.start();
      this.deps.health.set(`sink/${s.id}`, () => s.healthcheck());
    }
  }

  async stop(): Promise<void> {
    for (const s of this.sinks) await s.stop();
    await this.producer.disconnect();
  }
}
