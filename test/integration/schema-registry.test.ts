// A real Confluent-compatible Schema Registry (Apicurio Registry, /apis/ccompat/v7) with real skystream
// processes and the real broker: the agent, the pipeline (enriched topic) and `skystream capture create`
// (control topic) register their schemas under <topic>-value and frame records with the registry's ids;
// a consumer that knows only the registry (a stock Confluent deserializer) and ClickHouse's AvroConfluent
// read them. Without a registry, or with one away at start, records carry the pinned ids and still reach
// ClickHouse through a pipeline that has the registry.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import avro from "avsc";
import pino from "pino";
import { createBus, kafkaConfig, totalLag, type Bus } from "@skystream/common";
import { testKafka, freePort } from "../harness/kafka.ts";
import { testSchemaRegistry } from "../harness/schema-registry.ts";
import { openChdb, queryRows } from "../harness/clickhouse.ts";
import { startSkystream, waitFor, type SkystreamProcess } from "../harness/skystream-process.ts";
import { agentEnv, pipelineEnv, testNames } from "../harness/names.ts";

const BIN = fileURLToPath(new URL("../../pipeline/bin/skystream.js", import.meta.url));
const run = promisify(execFile);
const log = pino({ level: "warn" });

/** What a consumer that knows only the registry does (Confluent's KafkaAvroDeserializer, in avsc): magic byte, id, schema by id, Avro. */
function stockDeserializer(registryUrl: string) {
  const types = new Map<number, Promise<avro.Type>>();
  return async (buf: Buffer): Promise<{ id: number; value: Record<string, unknown> }> => {
    assert.equal(buf[0], 0, "magic byte");
    const id = buf.readUInt32BE(1);
    let type = types.get(id);
    if (!type) {
      type = fetch(`${registryUrl}/schemas/ids/${id}`)
        .then((r) => (r.ok ? (r.json() as Promise<{ schema: string }>) : Promise.reject(new Error(`schema ${id}: HTTP ${r.status}`))))
        .then((b) => avro.Type.forSchema(JSON.parse(b.schema) as avro.Schema));
      types.set(id, type);
    }
    const { value, offset } = (await type).decode(buf, 5);
    assert.equal(offset, buf.length, `schema ${id} reads the whole message`);
    return { id, value: value as Record<string, unknown> };
  };
}

/** Every message of these topics, from their beginning to their current end. */
async function readTopics(bus: Bus, group: string, topics: string[]): Promise<Map<string, Buffer[]>> {
  const ends = new Map<string, number>();
  for (const topic of topics)
    ends.set(
      topic,
      (await bus.lag(`${group}-probe`, topic)).reduce((s, l) => s + Number(l.end), 0),
    );
  const out = new Map<string, Buffer[]>(topics.map((t) => [t, []]));
  const consumer = bus.consumer(group);
  await consumer.connect();
  await consumer.subscribe(topics, true);
  await consumer.run({
    onBatch: async (b) => {
      for (const m of b.messages) out.get(b.topic)!.push(m.value!);
    },
  });
  try {
    await waitFor("every message read", async () => topics.every((t) => out.get(t)!.length >= ends.get(t)!), 60_000);
  } finally {
    await consumer.disconnect();
  }
  return out;
}

async function json<T>(url: string): Promise<T> {
  const r = await fetch(url);
  assert.ok(r.ok, `${url}: HTTP ${r.status} ${await r.clone().text()}`);
  return (await r.json()) as T;
}

const failWith =
  (procs: Record<string, SkystreamProcess>, extra = "") =>
  (e: Error) => {
    throw new Error(
      `${e.message}${extra}\n${Object.entries(procs)
        .map(([k, p]) => `--- ${k}\n${p.output().slice(-2500)}`)
        .join("\n")}`,
    );
  };

test(
  "with a schema registry: subjects <topic>-value with every version, records framed with the registry's ids, read by a stock deserializer and by ClickHouse AvroConfluent",
  { timeout: 300_000 },
  async (t) => {
    const [{ bootstrap }, registry] = await Promise.all([testKafka(), testSchemaRegistry()]);
    const n = testNames("registry");
    const control = `${n.id}.control`;
    const reg = { SKYSTREAM_SCHEMA_REGISTRY_URL: registry.url };
    const bus = createBus("kafka", kafkaConfig.parse({ brokers: [bootstrap] }), log);
    t.after(() => bus.close());

    const pipeline = await startSkystream(["pipeline"], { ...pipelineEnv(n, bootstrap), ...reg });
    t.after(() => pipeline.kill("SIGKILL"));
    // One after the other, as in the other tests: processes creating the same topics at once can trip over each other.
    await pipeline.waitForOutput(/pipeline running/).catch(failWith({ pipeline }, `\n--- registry\n${registry.logTail()}`));
    const agent = await startSkystream(
      ["agent", "--synthetic", "300"],
      agentEnv(n, bootstrap, { ...reg, SKYSTREAM_AGENT_CAPTURES_TOPIC: control, SKYSTREAM_AGENT_TOPOLOGY_PROBES: JSON.stringify({ host: {} }) }),
    );
    t.after(() => agent.kill("SIGKILL"));
    const procs = { pipeline, agent };
    await agent.waitForOutput(/agent running/).catch(failWith(procs));
    assert.match(pipeline.output(), /schemas registered/);
    assert.match(agent.output(), /schemas registered/);

    // A capture order from the CLI: the control topic's subject, read back by the agent through the registry.
    const env = { ...process.env, SKYSTREAM_KAFKA_BROKERS: bootstrap, SKYSTREAM_AGENT_CAPTURES_TOPIC: control, ...reg };
    const capture = JSON.parse((await run(process.execPath, [BIN, "capture", "create", "--gremlin", "G.V().Has('Type', 'nothing')"], { env })).stdout) as {
      UUID: string;
    };
    await agent.waitForOutput(/^(?=.*skystream\.control\.ControlMessage)(?=.*schema read from the registry).*$/m, 30_000);
    await waitFor("500 flows published", async () => (await agent.metric("skystream_agent_flows_published_total")) >= 500, 60_000).catch(failWith(procs));
    assert.equal(await agent.metric("skystream_agent_control_invalid_total"), 0);
    assert.equal(await agent.kill("SIGTERM"), 0, agent.output().slice(-2000));
    const published = (await bus.lag(n.group, n.flows)).reduce((s, l) => s + Number(l.end), 0);
    await waitFor("the pipeline to catch up", async () => totalLag(await bus.lag(n.group, n.flows)) === 0, 90_000).catch(failWith(procs));
    await waitFor("every flow inserted", async () => (await pipeline.metric("skystream_sink_rows_inserted_total")) === published, 30_000).catch(
      failWith(procs),
    );
    assert.equal(await pipeline.metric("skystream_dlq_records_total"), 0, "no record dead-lettered");
    assert.equal(await pipeline.metric("skystream_schema_registry_errors_total"), 0);

    // The registry: one subject per topic, every catalogued version in order, the compatibility Skystream set.
    const subjects = await json<string[]>(`${registry.url}/subjects`);
    const expected = { [n.flows]: [1, 2], [n.enriched]: [1, 2], [n.topology]: [1], [control]: [1, 2] };
    const latestIds = new Map<string, number>();
    for (const [topic, versions] of Object.entries(expected)) {
      const subject = `${topic}-value`;
      assert.ok(subjects.includes(subject), `${subject} in ${subjects.join(", ")}`);
      assert.deepEqual(await json<number[]>(`${registry.url}/subjects/${subject}/versions`), versions, subject);
      assert.equal((await json<{ compatibilityLevel: string }>(`${registry.url}/config/${subject}`)).compatibilityLevel, "BACKWARD_TRANSITIVE");
      latestIds.set(topic, (await json<{ id: number }>(`${registry.url}/subjects/${subject}/versions/latest`)).id);
    }
    assert.equal(latestIds.get(n.flows), latestIds.get(n.enriched), "one schema, one id, whatever the subject");
    t.diagnostic(`registry ids of the writer versions: ${JSON.stringify(Object.fromEntries(latestIds))}`);

    // A consumer that knows only the registry reads every topic.
    const messages = await readTopics(bus, `${n.id}-stock`, [n.flows, n.enriched, n.topology, control]);
    const deserialize = stockDeserializer(registry.url);
    const decoded = new Map<string, { id: number; value: Record<string, unknown> }[]>();
    for (const [topic, values] of messages) decoded.set(topic, await Promise.all(values.map(deserialize)));
    for (const [topic, records] of decoded) {
      assert.ok(records.length > 0, `records on ${topic}`);
      assert.deepEqual([...new Set(records.map((r) => r.id))], [latestIds.get(topic)], `${topic}: framed with the registry's id of the writer version`);
    }
    const flows = decoded.get(n.flows)!.map((r) => r.value);
    assert.equal(flows.length, published);
    assert.equal(new Set(flows.map((f) => f.UUID)).size, published);
    assert.ok(flows.every((f) => f.Host === n.id && f.Enrichment === null));
    const enriched = decoded.get(n.enriched)!.map((r) => r.value);
    assert.equal(new Set(enriched.map((f) => f.UUID)).size, published, "every flow enriched (at least once)");
    assert.ok(enriched.every((f) => f.Enrichment !== null && typeof f.Enrichment === "object"));
    assert.ok(decoded.get(n.topology)!.some((d) => d.value.Origin === `agent.${n.id}` && d.value.Op === "HEARTBEAT"));
    const orders = decoded.get(control)!.map((r) => r.value);
    assert.deepEqual(
      orders.map((o) => [o.Op, (o.Capture as { UUID: string }).UUID]),
      [["CAPTURE_SET", capture.UUID]],
    );

    // ClickHouse reads the topics' messages as AvroConfluent, its schemas from the registry.
    const ch = openChdb(join(n.dataDir, "reader"));
    t.after(() => ch.close());
    const sums = async (topic: string) => {
      const file = join(n.dataDir, `${topic}.bin`);
      writeFileSync(file, Buffer.concat(messages.get(topic)!));
      const [row] = await queryRows<{ rows: string; flows: string; hosts: string; bytes: string }>(
        ch,
        `SELECT count() AS rows, uniqExact(UUID) AS flows, groupUniqArray(Host) AS hosts, sum(Metric.ABBytes) AS bytes
         FROM file('${file}', 'AvroConfluent', 'UUID String, Host String, \`Metric.ABBytes\` Int64')
         SETTINGS format_avro_schema_registry_url = '${registry.url}'`,
      );
      return row!;
    };
    const expectedBytes = flows.reduce((s, f) => s + Number((f.Metric as { ABBytes: number }).ABBytes), 0);
    for (const topic of [n.flows, n.enriched]) {
      const row = await sums(topic);
      assert.equal(Number(row.flows), published, `${topic}: every flow`);
      assert.deepEqual(row.hosts, [n.id]);
      if (topic === n.flows) assert.equal(Number(row.bytes), expectedBytes, "the same values as the stock deserializer's");
    }
    assert.equal(await pipeline.kill("SIGTERM"), 0, pipeline.output().slice(-2000));
  },
);

test(
  "pinned ids: without a registry as before; with one away at start, pinned_fallback publishes with them and no fallback waits; a pipeline with the registry reads them",
  { timeout: 240_000 },
  async (t) => {
    const [{ bootstrap }, registry] = await Promise.all([testKafka(), testSchemaRegistry()]);
    const n = testNames("pinned");
    const bus = createBus("kafka", kafkaConfig.parse({ brokers: [bootstrap] }), log);
    t.after(() => bus.close());
    const away = `http://127.0.0.1:${await freePort()}/apis/ccompat/v7`;
    const agentOpts = { SKYSTREAM_AGENT_TOPOLOGY_PROBES: JSON.stringify({ host: {} }), SKYSTREAM_AGENT_CAPTURES_ENABLED: "false" };

    // No registry: the pinned ids, exactly as before.
    const plain = await startSkystream(["agent", "--synthetic", "0", "--count", "200"], agentEnv(n, bootstrap, agentOpts));
    t.after(() => plain.kill("SIGKILL"));
    assert.equal(await plain.exited, 0, plain.output().slice(-2000));
    assert.doesNotMatch(plain.output(), /schema.registry/i);

    // The registry away, pinned_fallback: a clear error, a counter, /healthz says so, records with the pinned ids.
    const fallback = await startSkystream(
      ["agent", "--synthetic", "200"],
      agentEnv(n, bootstrap, { ...agentOpts, SKYSTREAM_SCHEMA_REGISTRY_URL: away, SKYSTREAM_SCHEMA_REGISTRY_PINNED_FALLBACK: "true" }),
    );
    t.after(() => fallback.kill("SIGKILL"));
    await fallback.waitForOutput(/agent running/);
    assert.match(fallback.output(), /schema registry unreachable at start: publishing with the pinned ids/);
    assert.match(fallback.output(), /SKY_ERR_SCHEMA_REGISTRY_UNREACHABLE/);
    await waitFor("200 more flows", async () => (await fallback.metric("skystream_agent_flows_published_total")) >= 200, 30_000);
    assert.ok((await fallback.metric("skystream_schema_registry_errors_total", { operation: "register", error_type: "unreachable" })) >= 1);
    const health = await fetch(fallback.metricsUrl.replace("/metrics", "/healthz"));
    assert.equal(health.status, 503);
    assert.match(await health.text(), /schema_registry.*schemas not registered/);
    assert.equal(await fallback.kill("SIGTERM"), 0, fallback.output().slice(-2000));

    // The registry away, no fallback: the agent waits (retrying) and publishes nothing.
    const before = (await bus.lag(`${n.id}-probe`, n.flows)).reduce((s, l) => s + Number(l.end), 0);
    const waiting = await startSkystream(["agent", "--synthetic", "200"], agentEnv(n, bootstrap, { ...agentOpts, SKYSTREAM_SCHEMA_REGISTRY_URL: away }));
    t.after(() => waiting.kill("SIGKILL"));
    await waiting.waitForOutput(/records wait until their schemas are registered[\s\S]*records wait until/, 30_000);
    assert.ok((await waiting.metric("skystream_schema_registry_errors_total", { operation: "register" })) >= 2);
    assert.doesNotMatch(waiting.output(), /agent running/);
    assert.equal(
      (await bus.lag(`${n.id}-probe`, n.flows)).reduce((s, l) => s + Number(l.end), 0),
      before,
      "nothing published",
    );
    await waiting.kill("SIGKILL");

    const messages = await readTopics(bus, `${n.id}-reader`, [n.flows, n.topology]);
    assert.deepEqual([...new Set(messages.get(n.flows)!.map((m) => m.readUInt32BE(1)))], [4], "FlowRecord v2's pinned id");
    assert.deepEqual([...new Set(messages.get(n.topology)!.map((m) => m.readUInt32BE(1)))], [2], "TopologyDelta v1's pinned id");

    // A pipeline with the registry reads them: ids the registry does not have, or has for other records, are pinned ones.
    const pipeline = await startSkystream(["pipeline"], { ...pipelineEnv(n, bootstrap), SKYSTREAM_SCHEMA_REGISTRY_URL: registry.url });
    t.after(() => pipeline.kill("SIGKILL"));
    await pipeline.waitForOutput(/pipeline running/);
    const total = messages.get(n.flows)!.length;
    await waitFor("every pinned-id flow inserted", async () => (await pipeline.metric("skystream_sink_rows_inserted_total")) === total, 60_000).catch(
      failWith({ pipeline }),
    );
    assert.equal(await pipeline.metric("skystream_dlq_records_total"), 0);
    assert.equal(await pipeline.kill("SIGTERM"), 0, pipeline.output().slice(-2000));
    const ch = openChdb(n.dataDir);
    t.after(() => ch.close());
    const [row] = await queryRows<{ c: string }>(ch, `SELECT count() AS c FROM skystream.flows WHERE Host = '${n.id}'`);
    assert.equal(Number(row!.c), total, "every pinned-id flow in ClickHouse");
  },
);
