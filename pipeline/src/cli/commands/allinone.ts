import { Command } from "commander";
import { AvroCodec } from "@skystream/schemas";
import { Agent, agentWrites } from "@skystream/agent";
import { captureConfig } from "@skystream/agent/probes/flow/pcap/config";
import { defaultRouteInterface } from "@skystream/agent/probes/flow/pcap/default-interface";
import { syntheticConfig } from "@skystream/agent/probes/flow/synthetic/config";
import { Pipeline } from "../../pipeline.js";
import { apiTopics, apiWrites, startApi } from "../../api/start.js";
import { startSchemaRegistry } from "../../schema-registry/index.js";
import { openStorage } from "../../storage/clickhouse/index.js";
import { controlGroup } from "./capture.js";
import { boot, ensureTopics, readConfig, type GlobalOptions } from "../runtime.js";

export function allinoneCommand(globals: () => GlobalOptions): Command {
  return new Command("allinone")
    .description("agent + pipeline + query API in one process: embedded ClickHouse (chDB), in-process bus instead of Kafka")
    .option("--synthetic <rate>", "add the synthetic flow probe at this many flows/s (generated traffic, for trying the pipeline)")
    .action(async (opts: { synthetic?: string }) => {
      const cfg = readConfig(globals(), { bus: { type: "memory" } });
      // Watching this host: without configured flow probes, a live capture on the default route's interface.
      if (Object.keys(cfg.agent.flow.probes).length === 0) {
        const dev = defaultRouteInterface();
        if (dev) cfg.agent.flow.probes[`pcap/${dev}`] = captureConfig.parse({ interface: dev });
      }
      if (opts.synthetic !== undefined) cfg.agent.flow.probes.synthetic = syntheticConfig.parse({ rate: Number(opts.synthetic) });
      const rt = await boot("allinone", cfg, "memory");
      const storage = await openStorage(cfg.clickhouse, rt.log);
      rt.health.set("clickhouse", () => storage.healthcheck());
      const codec = new AvroCodec();
      const pipeline = new Pipeline(cfg, { bus: rt.bus, storage, codec, log: rt.log, metrics: rt.metrics, health: rt.health });
      const registry = await startSchemaRegistry(cfg.schema_registry, codec, [...agentWrites(cfg.agent), ...pipeline.writes(), ...apiWrites(cfg)], rt);
      await ensureTopics(rt, [...pipeline.topics(), cfg.agent.flow.topic, cfg.agent.topology.topic, cfg.agent.captures.topic]);
      await pipeline.start();
      // The API first: it answers (and the web UI shows the graph filling) while the agent's first snapshot
      // is being made, which takes seconds on a host of hundreds of namespaces.
      const api = await startApi(cfg.api, {
        bus: rt.bus,
        storage,
        codec,
        log: rt.log,
        metrics: rt.metrics,
        groupPrefix: "allinone-api",
        ...apiTopics(cfg),
      });
      const producer = rt.bus.producer();
      const control = rt.bus.consumer(controlGroup(cfg.agent.host_id));
      const agent = new Agent(cfg.agent, { log: rt.log, metrics: rt.metrics, codec, producer, control });
      await agent.start();
      rt.log.info(
        { data_path: cfg.clickhouse.data_path, metrics: rt.server?.address, api: api.address, probes: agent.probes.map((p) => p.id) },
        "all-in-one running: flows are in the ClickHouse table skystream.flows; the query API answers",
      );
      await rt.onShutdown(async () => {
        registry?.close();
        await api.stop();
        await agent.stop();
        await pipeline.stop();
        await storage.close();
      });
    });
}
