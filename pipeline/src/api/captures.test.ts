// /api/capture on the control topic (in-process bus): create, list, duplicates, TTL, delete, and the
// orders as an agent reads them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { AvroCodec, CONTROL_MESSAGE, type ControlMessage } from "@skystream/schemas";
import { createBus, createRegistry, kafkaConfig } from "@skystream/common";
import { clickhouseConfig, migrate, openStorage } from "../storage/clickhouse/index.js";
import { apiConfig } from "./config.js";
import { startApi } from "./start.js";

const log = pino({ level: "warn" });

test("/api/capture: orders on the control topic, Skydive's answers (201, 409, 404, 400), X-Resource-TTL", async (t) => {
  const cfg = clickhouseConfig.parse({ data_path: mkdtempSync(join(tmpdir(), "skystream-capapi-")), database: "capdb" });
  const storage = await openStorage(cfg, log);
  t.after(() => storage.close());
  await migrate(storage, cfg, log);
  const bus = createBus("memory", kafkaConfig.parse({}), log);
  const codec = new AvroCodec();
  const api = await startApi(apiConfig.parse({ listen: "127.0.0.1:0" }), {
    bus,
    storage,
    codec,
    log,
    metrics: createRegistry("cap-test"),
    topologyTopic: "topo.cap",
    groupPrefix: "cap-test",
    pipeline: { group: "g", topics: [] },
    controlTopic: "control.cap",
  });
  t.after(() => api.stop());
  const call = (method: string, url: string, body?: unknown, headers: Record<string, string> = {}) =>
    api.app.inject({ method: method as "GET", url, payload: body as object, headers });

  const created = await call("POST", "/api/capture", { GremlinQuery: "G.V().Has('Type', 'veth', 'Name', 'eth0')", BPFFilter: "udp", Name: "dns" });
  assert.equal(created.statusCode, 201, created.body);
  const c = created.json();
  assert.match(c.UUID, /^[0-9a-f-]{36}$/);
  assert.equal(c.Name, "dns");
  assert.equal(c.Count, 0, "no node matches in an empty graph");
  assert.equal(c.TTL, 0);

  const dup = await call("POST", "/api/capture", { GremlinQuery: "G.V().Has('Type', 'veth', 'Name', 'eth0')", BPFFilter: "udp" });
  assert.equal(dup.statusCode, 409);
  assert.match(dup.json().error, new RegExp(c.UUID));
  assert.equal((await call("POST", "/api/capture", { GremlinQuery: "G.V().Has('Type', 'veth', 'Name', 'eth0')", BPFFilter: "tcp" })).statusCode, 201);

  const ttl = await call("POST", "/api/capture", { GremlinQuery: "G.V('x')" }, { "x-resource-ttl": "1s" });
  assert.equal(ttl.statusCode, 201);
  assert.equal(ttl.json().TTL, 1000);
  assert.equal(Object.keys((await call("GET", "/api/capture")).json()).length, 3);
  await new Promise((r) => setTimeout(r, 1100));
  assert.equal(Object.keys((await call("GET", "/api/capture")).json()).length, 2, "the TTL ran out");

  assert.equal((await call("GET", `/api/capture/${c.UUID}`)).json().GremlinQuery, "G.V().Has('Type', 'veth', 'Name', 'eth0')");
  const del = await call("DELETE", `/api/capture/${c.UUID}`);
  assert.equal(del.statusCode, 200);
  assert.equal(del.body, `capture ${c.UUID} deleted`);
  assert.equal((await call("GET", `/api/capture/${c.UUID}`)).statusCode, 404);
  assert.equal((await call("DELETE", `/api/capture/${c.UUID}`)).statusCode, 404);

  // Bad input.
  const bad = await call("POST", "/api/capture", { GremlinQuery: "G.E()" });
  assert.equal(bad.statusCode, 400);
  assert.match(bad.json().error, /GremlinQuery/);
  assert.equal((await call("POST", "/api/capture", { GremlinQuery: "G.V()", Type: "tap" })).statusCode, 400);
  assert.equal((await call("POST", "/api/capture", { GremlinQuery: "G.V()", Port: 70000 })).statusCode, 400);
  assert.equal((await call("POST", "/api/capture", { GremlinQuery: "G.V()", Bogus: 1 })).statusCode, 400);
  assert.equal((await call("POST", "/api/capture", { GremlinQuery: "G.V()" }, { "x-resource-ttl": "soon" })).statusCode, 400);

  // What an agent reads from the control topic: each order, keyed by the capture.
  const orders: ControlMessage[] = [];
  const consumer = bus.consumer("agent-like");
  await consumer.connect();
  await consumer.subscribe(["control.cap"], true);
  await consumer.run({
    onBatch: async (b) => {
      for (const m of b.messages) orders.push(codec.decode<ControlMessage>(m.value!, CONTROL_MESSAGE).value);
    },
  });
  await new Promise((r) => setTimeout(r, 300));
  await consumer.disconnect();
  assert.deepEqual(
    orders.map((o) => o.Op),
    ["CAPTURE_SET", "CAPTURE_SET", "CAPTURE_SET", "CAPTURE_DELETE"],
  );
  assert.equal(orders[3]!.Capture?.UUID, c.UUID);
});
