import { Command } from "commander";
import { AvroCodec, TOPICS } from "@skystream/schemas";
import type { Producer } from "@skystream/common";
import { Agent, agentWrites } from "@skystream/agent";
import { pcapfileConfig } from "@skystream/agent/probes/flow/pcapfile/config";
import { controlGroup } from "./capture.js";
import { startSchemaRegistry } from "../../schema-registry/index.js";
import { boot, ensureTopics, readConfig, type GlobalOptions } from "../runtime.js";

export function agentCommand(globals: () => GlobalOptions): Command {
  return new Command("agent")
    .description("run probes on this host and publish what they see to Kafka")
    .option("--print", "print the topology (as {TopologyDelta} lines) and flows as JSON lines on stdout instead of publishing (no Kafka needed)")
    .option("--synthetic <rate>", "run the synthetic flow probe at this many flows/s (0: as fast as possible)")
    .option("--count <n>", "with --synthetic: stop after n flows")
    .option("--pcap <file>", "replay a pcap/pcapng file through the flow table instead of running the configured probes, then exit")
    .option("--filter <bpf>", "with --pcap: only the packets matching this BPF filter (needs tcpdump)")
    .option("--node-tid <tid>", "with --pcap: NodeTID to stamp on the flows (the interface the file was captured on)")
    .action(async (opts: { print?: boolean; synthetic?: string; count?: string; pcap?: string; filter?: string; nodeTid?: string }) => {
      const overrides: Record<string, unknown> = {};
      if (opts.synthetic !== undefined) {
        overrides.agent = { flow: { probes: { synthetic: { rate: Number(opts.synthetic), count: Number(opts.count ?? 0) } } } };
      }
      const cfg = readConfig(globals(), overrides);
      if (opts.pcap) {
        // A file is not this host's live view: only its flows, no topology probes, no other flow probes.
        cfg.agent.topology.probes = {};
        cfg.agent.flow.probes = { pcapfile: pcapfileConfig.parse({ path: opts.pcap, filter: opts.filter ?? "", node_tid: opts.nodeTid ?? "" }) };
      }
      const rt = await boot("agent", cfg, opts.print ? "memory" : cfg.bus.type);
      const codec = new AvroCodec();
      const registry = opts.print ? undefined : await startSchemaRegistry(cfg.schema_registry, codec, agentWrites(cfg.agent), rt);
      let producer: Producer | undefined;
      if (!opts.print) {
        await ensureTopics(rt, [cfg.agent.flow.topic, cfg.agent.topology.topic, TOPICS.dlq, cfg.agent.captures.topic]);
        producer = rt.bus.producer();
        await producer.connect();
      }
      const agent = new Agent(cfg.agent, {
        log: rt.log,
        metrics: rt.metrics,
        codec,
        producer,
        print: opts.print ? process.stdout : undefined,
        // Captures on demand come from Kafka; a --print or --pcap run has none.
        control: opts.print || opts.pcap ? undefined : rt.bus.consumer(controlGroup(cfg.agent.host_id)),
      });
      await agent.start();
      rt.health.set("probes", async () => {
        if (agent.failedProbes.size > 0) throw new Error([...agent.failedProbes].map(([id, why]) => `${id}: ${why}`).join("; "));
      });
      rt.log.info(
        { host_id: cfg.agent.host_id, topology: agent.topologyProbes.map((p) => p.id), flow: agent.probes.map((p) => p.id), print: !!opts.print },
        "agent running",
      );
      const stop = async () => {
        registry?.close();
        await agent.stop();
        await producer?.disconnect();
      };
      // A finite run (every probe bounded, e.g. --count) ends by itself; a live one runs until a signal.
      const finished = agent.finite() ? agent.done().then(stop).then(rt.close) : new Promise<void>(() => {});
      await Promise.race([rt.onShutdown(stop), finished]);
    });
}
