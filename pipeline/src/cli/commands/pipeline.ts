import { Command } from "commander";
import { AvroCodec } from "@skystream/schemas";
import { createLogger } from "@skystream/common";
import { Pipeline } from "../../pipeline.js";
import { migrate, openStorage } from "../../storage/clickhouse/index.js";
import { boot, ensureTopics, readConfig, type GlobalOptions } from "../runtime.js";
import { printConfig } from "./config.js";
import { startSchemaRegistry } from "../../schema-registry/index.js";

export function pipelineCommand(globals: () => GlobalOptions): Command {
  const cmd = new Command("pipeline")
    .description("consume Kafka topics and write ClickHouse (stream processors and sinks)")
    .option("--check", "validate the config, run healthchecks (Kafka, ClickHouse) and exit")
    .option("--dump", "print the effective config (YAML) and exit")
    .action(async (opts: { check?: boolean; dump?: boolean }) => {
      const cfg = readConfig(globals());
      if (opts.dump) return printConfig(cfg);
      const rt = await boot("pipeline", cfg);
      const storage = await openStorage(cfg.clickhouse, rt.log);
      rt.health.set("clickhouse", () => storage.healthcheck());
      if (opts.check) {
        await rt.bus.healthcheck();
        await storage.healthcheck();
        rt.log.info("checks passed");
        await Promise.all([storage.close(), rt.bus.close(), rt.server?.close()]);
        return;
      }
      const codec = new AvroCodec();
      const pipeline = new Pipeline(cfg, { bus: rt.bus, storage, codec, log: rt.log, metrics: rt.metrics, health: rt.health });
      const registry = await startSchemaRegistry(cfg.schema_registry, codec, pipeline.writes(), rt);
      await ensureTopics(rt, pipeline.topics());
      await pipeline.start();
      rt.log.info({ sinks: Object.keys(cfg.pipeline.sinks), group: cfg.pipeline.group_id }, "pipeline running");
      await rt.onShutdown(async () => {
        registry?.close();
        await pipeline.stop();
        await storage.close();
      });
    });
  cmd
    .command("migrate")
    .description("apply ClickHouse schema migrations and exit")
    .action(async () => {
      const cfg = readConfig(globals());
      const log = createLogger(cfg.log, "skystream-migrate");
      const storage = await openStorage(cfg.clickhouse, log);
      const applied = await migrate(storage, cfg.clickhouse, log);
      console.log(applied.length ? `applied migrations ${applied.join(", ")}` : "schema up to date");
      await storage.close();
    });
  return cmd;
}
