import { Command } from "commander";
import { AvroCodec } from "@skystream/schemas";
import { apiTopics, apiWrites, startApi } from "../../api/start.js";
import { startSchemaRegistry } from "../../schema-registry/index.js";
import { openStorage } from "../../storage/clickhouse/index.js";
import { boot, readConfig, type GlobalOptions } from "../runtime.js";
import { printConfig } from "./config.js";

export function apiCommand(globals: () => GlobalOptions): Command {
  return new Command("api")
    .description("query API: Gremlin over the live graph and its history, OpenAPI at /api/openapi.json, docs at /api/docs")
    .option("--dump", "print the effective config (YAML) and exit")
    .action(async (opts: { dump?: boolean }) => {
      const cfg = readConfig(globals());
      if (opts.dump) return printConfig(cfg);
      const rt = await boot("api", cfg);
      const storage = await openStorage(cfg.clickhouse, rt.log);
      rt.health.set("clickhouse", () => storage.healthcheck());
      const codec = new AvroCodec();
      const registry = await startSchemaRegistry(cfg.schema_registry, codec, apiWrites(cfg), rt);
      const api = await startApi(cfg.api, {
        bus: rt.bus,
        storage,
        codec,
        log: rt.log,
        metrics: rt.metrics,
        groupPrefix: "skystream-api",
        ...apiTopics(cfg),
      });
      await rt.onShutdown(async () => {
        registry?.close();
        await api.stop();
        await storage.close();
      });
    });
}
