// skystream capture create|delete|list: captures on demand, as orders on the control topic that every
// agent follows (Skydive's `skydive client capture`). Until the query API exists, this is how to start one.
import { randomUUID } from "node:crypto";
import { Command, Option } from "commander";
import { parseDuration, SkystreamError } from "@skystream/common";
import { AvroCodec, CONTROL_MESSAGE, type Capture, type ControlMessage } from "@skystream/schemas";
import { boot, ensureTopics, readConfig, type GlobalOptions } from "../runtime.js";
import { controlKey, liveCaptures } from "../../api/captures.js";
import { startSchemaRegistry } from "../../schema-registry/index.js";

/** The consumer group an agent reads the control topic with (never committed: it replays from the start). */
export const controlGroup = (hostId: string) => `skystream-agent-control.${hostId}`;

const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new SkystreamError("SKY_ERR_CLI_ARG", `expected a non-negative integer, got "${v}"`);
  return n;
};

async function publish(globals: GlobalOptions, msg: ControlMessage): Promise<void> {
  const cfg = readConfig(globals);
  const rt = await boot("capture", { ...cfg, metrics: { listen: "off" } });
  const topic = cfg.agent.captures.topic;
  const codec = new AvroCodec();
  let registry: Awaited<ReturnType<typeof startSchemaRegistry>>;
  try {
    registry = await startSchemaRegistry(cfg.schema_registry, codec, [{ topic, record: CONTROL_MESSAGE }], rt);
    await ensureTopics(rt, [topic]);
    const producer = rt.bus.producer();
    await producer.connect();
    await producer.send(topic, [{ key: controlKey(msg), value: codec.encode(CONTROL_MESSAGE, msg, topic) }]);
    await producer.disconnect();
  } finally {
    registry?.close();
    await rt.close();
  }
}

/** The captures in force: the latest order per capture, deletions and expired TTLs left out. */
async function readCaptures(globals: GlobalOptions): Promise<Capture[]> {
  const cfg = readConfig(globals);
  const rt = await boot("capture", { ...cfg, metrics: { listen: "off" } });
  const codec = new AvroCodec();
  const latest = new Map<string, ControlMessage>();
  let registry: Awaited<ReturnType<typeof startSchemaRegistry>>;
  try {
    registry = await startSchemaRegistry(cfg.schema_registry, codec, [], rt);
    await ensureTopics(rt, [cfg.agent.captures.topic]);
    const consumer = rt.bus.consumer(`skystream-cli.${randomUUID()}`);
    await consumer.connect();
    await consumer.subscribe([cfg.agent.captures.topic], true);
    let lastMessage = Date.now();
    void consumer.run({
      onBatch: async (batch) => {
        await codec.prepare(batch.messages.map((m) => m.value));
        for (const m of batch.messages) if (m.value) latest.set(m.key?.toString() ?? "", codec.decode<ControlMessage>(m.value, CONTROL_MESSAGE).value);
        lastMessage = Date.now();
      },
    });
    // The topic is read to its end when nothing more comes for a moment.
    const started = Date.now();
    while (Date.now() - lastMessage < 1500 || Date.now() - started < 3000) await new Promise((r) => setTimeout(r, 200));
    await consumer.disconnect();
  } finally {
    registry?.close();
    await rt.close();
  }
  return liveCaptures(latest.values());
}

export function captureCommand(globals: () => GlobalOptions): Command {
  const cmd = new Command("capture").description("captures on demand: packets of the selected interfaces become flows (orders on the control topic)");
  cmd
    .command("create")
    .description("start a capture on every node the selection matches, on every agent")
    .requiredOption("--gremlin <query>", "nodes to capture on, e.g. \"G.V().Has('Type', 'veth', 'Name', 'eth0')\"")
    .option("--bpf <filter>", "BPF filter", "")
    .addOption(
      new Option("--type <type>", "capture type (default: afpacket on interfaces, ovssflow on OVS bridges)").choices(["pcap", "afpacket", "sflow", "ovssflow"]),
    )
    .option("--name <name>", "name", "")
    .option("--description <text>", "description", "")
    .option("--ttl <duration>", "end the capture by itself after this long (e.g. 10m)")
    .option("--port <n>", "sflow/ovssflow: collector port (default: a free one)", int, 0)
    .option("--sampling-rate <n>", "ovssflow: 1 in n packets sampled", int, 1)
    .option("--polling-interval <s>", "ovssflow: seconds between counter samples", int, 10)
    .option("--header-size <n>", "bytes of each packet decoded (default 256)", int, 0)
    .addOption(new Option("--layer-key-mode <mode>", "flow key: L2 (MACs too) or L3").choices(["L2", "L3"]))
    .option("--extra-tcp-metric", "fill TCPMetric (SYN/FIN/RST times)", false)
    .option("--target <host:port>", "ovssflow: where OVS exports to instead of the agent's collector", "")
    .action(async (o) => {
      const ttl = o.ttl === undefined ? 0 : parseDuration(o.ttl);
      if (ttl === undefined) throw new SkystreamError("SKY_ERR_CLI_ARG", `--ttl: expected a duration such as "10m", got "${o.ttl}"`);
      const capture: Capture = {
        UUID: randomUUID(),
        GremlinQuery: o.gremlin,
        BPFFilter: o.bpf,
        Name: o.name,
        Description: o.description,
        Type: o.type ?? "",
        Port: o.port,
        SamplingRate: o.samplingRate,
        PollingInterval: o.pollingInterval,
        HeaderSize: o.headerSize,
        LayerKeyMode: o.layerKeyMode ?? "",
        ExtraTCPMetric: o.extraTcpMetric,
        Target: o.target,
        CreatedAt: Date.now(),
        TTL: ttl,
      };
      await publish(globals(), { Op: "CAPTURE_SET", Time: Date.now(), Capture: capture });
      process.stdout.write(JSON.stringify(capture, null, 2) + "\n");
    });
  cmd
    .command("delete <uuid>")
    .description("stop a capture everywhere")
    .action(async (uuid: string) => {
      const known = (await readCaptures(globals())).find((c) => c.UUID === uuid);
      if (!known) throw new SkystreamError("SKY_ERR_CAPTURE_UNKNOWN", `no capture ${uuid} in force`);
      await publish(globals(), { Op: "CAPTURE_DELETE", Time: Date.now(), Capture: known });
      process.stdout.write(`capture ${uuid} deleted\n`);
    });
  cmd
    .command("list")
    .description("captures in force (read from the control topic)")
    .action(async () => {
      process.stdout.write(JSON.stringify(await readCaptures(globals()), null, 2) + "\n");
    });
  return cmd;
}
