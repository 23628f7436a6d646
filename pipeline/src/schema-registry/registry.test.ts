// SchemaRegistry against a small Confluent API double (the real registry is in
// test/integration/schema-registry.test.ts): what is registered and in which order, the ids records carry,
// lookups, a registry away at start (waiting, or the pinned ids meanwhile), refusals.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import pino from "pino";
import { MetricsRegistry, type Healthcheck } from "@skystream/common";
import { AvroCodec, CONTROL_MESSAGE, FLOW_RECORD, TOPOLOGY_DELTA, readFrame } from "@skystream/schemas";
import { syntheticFlow } from "@skystream/schemas/testing/flows";
import { schemaRegistryConfig } from "./config.js";
import { SchemaRegistry } from "./registry.js";
import { startSchemaRegistry } from "./index.js";

const log = pino({ level: "silent" });

/** Confluent's API as far as Skystream uses it: ids by schema text, versions per subject, config per subject. */
class FakeRegistry {
  readonly calls: string[] = [];
  readonly ids = new Map<string, number>();
  readonly subjects = new Map<string, string[]>();
  readonly config = new Map<string, string>();
  /** Answer every request with this status (503: away). */
  failWith?: number;
  auth?: string;
  authSeen?: string;
  server?: Server;

  async listen(port = 0): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(port, "127.0.0.1", r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let text = "";
    for await (const c of req) text += (c as Buffer).toString();
    const body = text ? (JSON.parse(text) as Record<string, string>) : {};
    this.calls.push(`${req.method} ${req.url}`);
    this.authSeen = req.headers.authorization;
    const send = (status: number, b: unknown) => res.writeHead(status, { "content-type": "application/vnd.schemaregistry.v1+json" }).end(JSON.stringify(b));
    if (this.failWith) return void send(this.failWith, { error_code: this.failWith * 100, message: "failing as told" });
    if (this.auth && req.headers.authorization !== this.auth) return void send(401, { error_code: 401, message: "Unauthorized" });
    let m = /^\/subjects\/([^/]+)\/versions$/.exec(req.url ?? "");
    if (m && req.method === "POST") {
      const subject = decodeURIComponent(m[1]!);
      let id = this.ids.get(body.schema!);
      if (id === undefined) this.ids.set(body.schema!, (id = this.ids.size + 1));
      const versions = this.subjects.get(subject) ?? [];
      if (!versions.includes(body.schema!)) versions.push(body.schema!);
      this.subjects.set(subject, versions);
      return void send(200, { id });
    }
    m = /^\/config\/([^/]+)$/.exec(req.url ?? "");
    if (m && req.method === "PUT") {
      this.config.set(decodeURIComponent(m[1]!), body.compatibility!);
      return void send(200, { compatibility: body.compatibility });
    }
    m = /^\/schemas\/ids\/(\d+)$/.exec(req.url ?? "");
    if (m && req.method === "GET") {
      const schema = [...this.ids].find(([, id]) => id === Number(m![1]))?.[0];
      return void (schema ? send(200, { schema }) : send(404, { error_code: 40403, message: "Schema not found" }));
    }
    send(404, { error_code: 404, message: "no such route" });
  }
}

const cfgOf = (url: string, extra: Record<string, unknown> = {}) => schemaRegistryConfig.parse({ url, timeout: "2s", ...extra });
const errorsOf = async (metrics: MetricsRegistry, labels: Record<string, string> = {}) =>
  (await metrics.getSingleMetric("skystream_schema_registry_errors_total")?.get())?.values
    .filter((v) => Object.entries(labels).every(([k, x]) => (v.labels as Record<string, string>)[k] === x))
    .reduce((s, v) => s + v.value, 0) ?? 0;

test("every version is registered under <topic>-value oldest first, compatibility set before the newer ones; records carry the writer's id", async (t) => {
  const fake = new FakeRegistry();
  const url = await fake.listen();
  t.after(() => fake.close());
  const codec = new AvroCodec();
  const metrics = new MetricsRegistry();
  const r = new SchemaRegistry(cfgOf(url), codec, { log, metrics });
  t.after(() => r.close());
  await r.start([
    { topic: "t.topology", record: TOPOLOGY_DELTA },
    { topic: "t.flows", record: FLOW_RECORD },
    { topic: "t.flows", record: FLOW_RECORD },
  ]);
  assert.deepEqual(fake.calls, [
    "POST /subjects/t.topology-value/versions",
    "PUT /config/t.topology-value",
    "POST /subjects/t.flows-value/versions",
    "PUT /config/t.flows-value",
    "POST /subjects/t.flows-value/versions",
  ]);
  assert.equal(fake.config.get("t.flows-value"), "BACKWARD_TRANSITIVE");
  assert.deepEqual(Object.fromEntries(r.registered), {
    "t.topology-value": new Map([[1, 1]]),
    "t.flows-value": new Map([
      [1, 2],
      [2, 3],
    ]),
  });
  const flow = syntheticFlow(1, Date.now());
  const framed = codec.encode(FLOW_RECORD, flow, "t.flows");
  assert.equal(readFrame(framed).schemaId, 3, "FlowRecord v2, the registry's id");
  assert.equal(codec.decode(framed, FLOW_RECORD).writer, codec.schema(4));
  // Registered again by the next process: the same ids, nothing new.
  const again = new AvroCodec();
  const r2 = new SchemaRegistry(cfgOf(url, { compatibility: "" }), again, { log, metrics });
  t.after(() => r2.close());
  fake.calls.length = 0;
  await r2.start([{ topic: "t.flows", record: FLOW_RECORD }]);
  assert.deepEqual(fake.calls, ["POST /subjects/t.flows-value/versions", "POST /subjects/t.flows-value/versions"], "compatibility '' leaves it alone");
  assert.equal(again.writerId(FLOW_RECORD, "t.flows"), 3);
  assert.equal(await errorsOf(metrics), 0);
});

test("consumers look ids up: the registry's schema, else (40403) the pinned one; with credentials", async (t) => {
  const fake = new FakeRegistry();
  fake.auth = `Basic ${Buffer.from("sky:secret").toString("base64")}`;
  const url = await fake.listen();
  t.after(() => fake.close());
  const producer = new AvroCodec();
  const p = await startSchemaRegistry(cfgOf(url, { username: "sky", password: "secret" }), producer, [{ topic: "c", record: CONTROL_MESSAGE }], {
    log,
    metrics: new MetricsRegistry(),
  });
  t.after(() => p?.close());
  const order = { Op: "CAPTURE_SET" as const, Time: 1, Capture: null, Decoration: { UUID: "u", Nodes: ["n"], Metadata: "{}" } };
  const fromRegistry = producer.encode(CONTROL_MESSAGE, order, "c");
  const pinned = new AvroCodec().encode(FLOW_RECORD, syntheticFlow(2, Date.now()));

  const consumer = new AvroCodec();
  const c = await startSchemaRegistry(cfgOf(url, { username: "sky", password: "secret" }), consumer, [], { log, metrics: new MetricsRegistry() });
  t.after(() => c?.close());
  fake.calls.length = 0;
  await consumer.prepare([fromRegistry, pinned, fromRegistry]);
  assert.deepEqual(fake.calls.sort(), [`GET /schemas/ids/${readFrame(fromRegistry).schemaId}`, "GET /schemas/ids/4"]);
  assert.equal(fake.authSeen, fake.auth);
  assert.deepEqual(JSON.parse(JSON.stringify(consumer.decode(fromRegistry, CONTROL_MESSAGE).value)), order);
  assert.equal(consumer.decode(pinned, FLOW_RECORD).writer, consumer.schema(4), "id 4 is not the registry's: the pinned FlowRecord v2");
  await consumer.prepare([fromRegistry, pinned]);
  assert.equal(fake.calls.length, 2, "known ids are not asked again");
});

test("a registry away at start: the process waits, counting and retrying, and records then carry the registry's ids", async (t) => {
  const fake = new FakeRegistry();
  fake.failWith = 503;
  const url = await fake.listen();
  t.after(() => fake.close());
  const codec = new AvroCodec();
  const metrics = new MetricsRegistry();
  const health = new Map<string, Healthcheck>();
  let started = false;
  const r = new SchemaRegistry(cfgOf(url), codec, { log, metrics, health });
  t.after(() => r.close());
  const starting = r.start([{ topic: "f", record: FLOW_RECORD }]).then(() => (started = true));
  await new Promise((res) => setTimeout(res, 1200));
  assert.equal(started, false);
  assert.ok((await errorsOf(metrics, { operation: "register", error_type: "unreachable" })) >= 2);
  await assert.rejects(health.get("schema_registry")!(), /schemas not registered.*503/);
  fake.failWith = undefined;
  await starting;
  await health.get("schema_registry")!();
  assert.equal(readFrame(codec.encode(FLOW_RECORD, syntheticFlow(1, 0), "f")).schemaId, 2);
});

test("pinned_fallback: records carry the pinned ids while the registry is away, the registry's once it answers", async (t) => {
  const fake = new FakeRegistry();
  const url = await fake.listen();
  const port = Number(new URL(url).port);
  await fake.close(); // nobody listens there now: connections are refused
  const codec = new AvroCodec();
  const metrics = new MetricsRegistry();
  const r = new SchemaRegistry(cfgOf(url, { pinned_fallback: true }), codec, { log, metrics });
  t.after(() => r.close());
  await r.start([{ topic: "f", record: FLOW_RECORD }]);
  assert.equal(readFrame(codec.encode(FLOW_RECORD, syntheticFlow(1, 0), "f")).schemaId, 4, "pinned");
  assert.equal(await errorsOf(metrics, { error_type: "unreachable" }), 1);
  const back = new FakeRegistry();
  await back.listen(port);
  t.after(() => back.close());
  for (let i = 0; i < 100 && codec.writerId(FLOW_RECORD, "f") === 4; i++) await new Promise((res) => setTimeout(res, 100));
  assert.equal(readFrame(codec.encode(FLOW_RECORD, syntheticFlow(1, 0), "f")).schemaId, 2, "the registry's");
});

test("refusals fail the start with what to do: credentials, an incompatible subject", async (t) => {
  const fake = new FakeRegistry();
  fake.auth = "Basic nope";
  const url = await fake.listen();
  t.after(() => fake.close());
  const metrics = new MetricsRegistry();
  await assert.rejects(
    startSchemaRegistry(cfgOf(url), new AvroCodec(), [{ topic: "f", record: FLOW_RECORD }], { log, metrics }),
    (err: Error & { code?: string }) => err.code === "SKY_ERR_SCHEMA_REGISTRY_AUTH" && /HTTP 401.*schema_registry\.username/.test(err.message),
  );
  fake.auth = undefined;
  fake.failWith = 409;
  await assert.rejects(
    startSchemaRegistry(cfgOf(url, { pinned_fallback: true }), new AvroCodec(), [{ topic: "f", record: FLOW_RECORD }], { log, metrics }),
    (err: Error & { code?: string }) => err.code === "SKY_ERR_SCHEMA_REGISTRY_INCOMPATIBLE" && /f-value.*schema_registry\.compatibility/.test(err.message),
  );
  assert.equal(await errorsOf(metrics, { error_type: "auth" }), 1);
  assert.equal(await errorsOf(metrics, { error_type: "incompatible" }), 1);
});

test("config: an http(s) url, TLS only with https", () => {
  assert.equal(schemaRegistryConfig.parse({}).url, "");
  assert.throws(() => schemaRegistryConfig.parse({ url: "registry:8081" }), /http:\/\/ or https:\/\//);
  assert.throws(() => schemaRegistryConfig.parse({ url: "http://r:8081", tls: { enabled: true } }), /needs an https/);
  assert.equal(schemaRegistryConfig.parse({ url: "https://r:8081", tls: { enabled: true } }).tls.enabled, true);
});
