// End to end: synthetic flows from a real agent process, through a real Kafka broker, into a real
// pipeline process writing chDB. Reference, same run, same machine: chDB ingesting the same rows
// from Avro files in this process (the insert the pipeline's sink issues, without Kafka).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { AvroCodec, FLOW_RECORD, FRAME_HEADER_SIZE, buildContainer } from "@skystream/schemas";
import { syntheticFlow } from "@skystream/schemas/testing/flows";
import { createBus, kafkaConfig, type Bus } from "@skystream/common";
import { clickhouseConfig, flowsInsert, migrate, openStorage } from "@skystream/pipeline/storage/clickhouse/index";
import { startKafka, type KafkaBroker } from "../test/harness/kafka.ts";
import { startSkystream, waitFor, type SkystreamProcess } from "../test/harness/skystream-process.ts";

const log = pino({ level: "silent" });

export interface E2EResult {
  client: string;
  flows: number;
  produce: number;
  consumeInsert: number;
  endToEnd: number;
}

/** Rows per second of chDB ingesting `flows` rows from Avro containers (2 files, parsed in parallel). */
export async function rawIngest(flows: number): Promise<{ rowsPerSec: number; bytesPerRow: number }> {
  const dir = mkdtempSync(join(tmpdir(), "skystream-bench-ch-"));
  const cfg = clickhouseConfig.parse({ data_path: dir });
  const storage = await openStorage(cfg, log);
  await migrate(storage, cfg, log);
  const codec = new AvroCodec();
  const now = Date.now();
  const bodies: Buffer[][] = [[], []];
  for (let i = 0; i < flows; i++) bodies[i % 2]!.push(codec.encode(FLOW_RECORD, syntheticFlow(i, now)).subarray(FRAME_HEADER_SIZE));
  const schema = codec.writerFor(FLOW_RECORD).schema;
  let best = 0;
  // Same batch size as the sink (50k rows), best of the whole run.
  const t0 = performance.now();
  for (let off = 0; off < flows; off += 25_000) {
    const containers = bodies.map((b) => buildContainer(schema, b.slice(off, off + 25_000)));
    await storage.insertAvro(flowsInsert(cfg, schema, containers));
  }
  best = flows / ((performance.now() - t0) / 1000);
  const [parts] = await (
    await storage.client.query({
      query: `SELECT sum(bytes_on_disk) b, sum(rows) r FROM system.parts WHERE database = '${cfg.database}' AND table = 'flows' AND active`,
      format: "JSONEachRow",
    })
  ).json<{ b: string; r: string }>();
  await storage.close();
  return { rowsPerSec: best, bytesPerRow: Number(parts!.b) / Number(parts!.r) };
}

async function topicEnd(bus: Bus, topic: string): Promise<number> {
  try {
    return (await bus.lag("bench-none", topic)).reduce((s, l) => s + Number(l.end), 0);
  } catch {
    return 0;
  }
}

/** Times from the first record in the topic until `done` holds. */
async function timeFromFirstRecord(bus: Bus, topic: string, done: () => Promise<boolean>): Promise<number> {
  await waitFor("first record", async () => (await topicEnd(bus, topic)) > 0, 120_000, 20);
  const t0 = performance.now();
  await waitFor("completion", done, 600_000, 50);
  return (performance.now() - t0) / 1000;
}

export async function benchEndToEnd(client: "kafkajs" | "rdkafka", flows: number, broker?: KafkaBroker): Promise<E2EResult> {
  const own = !broker;
  broker ??= await startKafka({ heap: "1g" });
  const bus = createBus("kafka", kafkaConfig.parse({ brokers: [broker.bootstrap] }), log);
  const id = `bench-${client}-${Date.now()}`;
  const common = {
    SKYSTREAM_KAFKA_BROKERS: broker.bootstrap,
    SKYSTREAM_KAFKA_CLIENT: client,
    SKYSTREAM_KAFKA_TOPICS_PARTITIONS: "4",
    SKYSTREAM_LOG_LEVEL: "warn",
  };
  const agentEnv = (topic: string) => ({ ...common, SKYSTREAM_AGENT_FLOW_TOPIC: topic, SKYSTREAM_AGENT_HOST_ID: id });
  const pipelineEnv = (topic: string, dataDir: string, group: string) => ({
    ...common,
    SKYSTREAM_LOG_LEVEL: "info",
    SKYSTREAM_PIPELINE_GROUP_ID: group,
    SKYSTREAM_PIPELINE_DLQ_TOPIC: `${id}.dlq`,
    SKYSTREAM_PIPELINE_SINKS: JSON.stringify({ clickhouse_flows: { topic, batch_timeout: "1s" } }),
    SKYSTREAM_CLICKHOUSE_DATA_PATH: dataDir,
  });
  const procs: SkystreamProcess[] = [];
  try {
    // 1. Produce only.
    const t1 = `${id}.produce`;
    const agent1 = await startSkystream(["agent", "--synthetic", "0", "--count", String(flows)], agentEnv(t1));
    procs.push(agent1);
    const produceSecs = await timeFromFirstRecord(bus, t1, async () => (await topicEnd(bus, t1)) >= flows);
    if ((await agent1.exited) !== 0) throw new Error(`agent failed: ${agent1.output().slice(-2000)}`);

    // 2. Consume + insert a full topic.
    const p2 = await startSkystream(["pipeline"], pipelineEnv(t1, mkdtempSync(join(tmpdir(), "skystream-bench-p-")), `${id}-g1`));
    procs.push(p2);
    await waitFor("rows", async () => (await p2.metric("skystream_sink_records_in_total")) > 0, 120_000, 20);
    const c0 = performance.now();
    await waitFor("all rows", async () => (await p2.metric("skystream_sink_rows_inserted_total")) >= flows, 600_000, 50);
    const consumeSecs = (performance.now() - c0) / 1000;
    await p2.kill("SIGTERM");

    // 3. Both at once: agent -> broker -> pipeline -> chDB.
    const t3 = `${id}.e2e`;
    const p3 = await startSkystream(["pipeline"], pipelineEnv(t3, mkdtempSync(join(tmpdir(), "skystream-bench-p-")), `${id}-g3`));
    procs.push(p3);
    await waitFor(
      "pipeline ready",
      async () =>
        (await fetch(p3.metricsUrl)
          .then((r) => r.ok)
          .catch(() => false)) || undefined,
      120_000,
    );
    const agent3 = await startSkystream(["agent", "--synthetic", "0", "--count", String(flows)], agentEnv(t3));
    procs.push(agent3);
    const e2eSecs = await timeFromFirstRecord(bus, t3, async () => (await p3.metric("skystream_sink_rows_inserted_total")) >= flows);
    await p3.kill("SIGTERM");
    return { client, flows, produce: flows / produceSecs, consumeInsert: flows / consumeSecs, endToEnd: flows / e2eSecs };
  } finally {
    for (const p of procs) await p.kill("SIGKILL");
    await bus.close();
    if (own) await broker.stop();
  }
}
