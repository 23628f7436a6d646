// The ClickHouse HTTP stand-in (test/harness/clickhouse-server) behaves like a server for our client and
// storage: query parameters, JSONEachRow inserts, Avro inserts through input() (HttpStorage), insert
// deduplication tokens, errors, compression, concurrent requests, and data kept across SIGKILL + restart.
import { test } from "node:test";
import assert from "node:assert/strict";
import pino from "pino";
import { createClient, ClickHouseError, ClickHouseLogLevel, type ClickHouseClient } from "@clickhouse/client";
import { AvroCodec, FLOW_RECORD, FRAME_HEADER_SIZE, buildContainer, readFrame } from "@skystream/schemas";
import { syntheticFlow } from "@skystream/schemas/testing/flows";
import { MIGRATIONS, clickhouseConfig, flowsInsert, migrate, openStorage } from "@skystream/pipeline/storage/clickhouse/index";
import { startClickhouseServer } from "../harness/clickhouse-server.ts";

const log = pino({ level: "warn" });
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);

async function rows<T>(c: ClickHouseClient, query: string, query_params?: Record<string, unknown>): Promise<T[]> {
  return (await c.query({ query, query_params, format: "JSONEachRow" })).json<T>();
}

test("the ClickHouse stand-in serves @clickhouse/client and HttpStorage like a server", { timeout: 180_000 }, async (t) => {
  const server = await startClickhouseServer();
  t.after(() => server.kill());
  // Quiet: the failures this test provokes are expected.
  const client = createClient({ url: server.url, clickhouse_settings: { date_time_input_format: "best_effort" }, log: { level: ClickHouseLogLevel.OFF } });
  t.after(() => client.close());

  await t.test("ping and GET /ping", async () => {
    assert.deepEqual(await client.ping(), { success: true });
    const r = await fetch(`${server.url}/ping`);
    assert.equal(r.status, 200);
    assert.equal(await r.text(), "Ok.\n");
  });

  await t.test("query parameters are bound by the engine, headers as a server sends them", async () => {
    const tricky = 'it\'s a\ttab, a \\ backslash,\na newline and "quotes"';
    const rs = await client.query({
      query: "SELECT {s:String} AS s, {n:UInt32} AS n, {a:Array(String)} AS a, {d:DateTime64(3)} AS d",
      query_params: { s: tricky, n: 4_000_000_000, a: ["x'y", "z"], d: new Date(NOW) },
      format: "JSONEachRow",
      query_id: "stand-in-query-1",
    });
    assert.equal(rs.query_id, "stand-in-query-1");
    assert.equal(rs.response_headers["x-clickhouse-query-id"], "stand-in-query-1");
    assert.equal(rs.response_headers["x-clickhouse-format"], "JSONEachRow");
    assert.ok(rs.response_headers["x-clickhouse-timezone"], "X-ClickHouse-Timezone");
    const summary = JSON.parse(String(rs.response_headers["x-clickhouse-summary"])) as Record<string, string>;
    assert.equal(summary.result_rows, "1");
    const [row] = await rs.json<{ s: string; n: number; a: string[]; d: string }>();
    assert.deepEqual(row, { s: tricky, n: 4_000_000_000, a: ["x'y", "z"], d: "2026-11-23 12:00:00.000" });
    const [viaSettings] = await rows<{ v: string }>(client, "SELECT getSetting('date_time_input_format') AS v");
    assert.equal(viaSettings!.v, "best_effort", "client-level settings reach the engine");
  });

  await t.test("requests do not leak settings or parameters into each other", async () => {
    const results = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        rows<{ p: number; m: string }>(client, "SELECT {p:UInt32} AS p, getSetting('max_threads') AS m", { p: i }).then((r) => r[0]!),
      ),
    );
    assert.deepEqual(
      results.map((r) => r.p),
      Array.from({ length: 24 }, (_, i) => i),
    );
    await client.command({ query: "SELECT 1", clickhouse_settings: { max_threads: 1 } });
    const [after] = await rows<{ m: string }>(client, "SELECT toString(getSetting('max_threads')) AS m");
    assert.notEqual(after!.m, "1", "a setting of one request is not kept for the next");
  });

  await t.test("JSONEachRow insert and the deduplication token", async () => {
    await client.command({ query: "CREATE DATABASE IF NOT EXISTS standin" });
    await client.command({
      query: `CREATE TABLE standin.d (k UInt32, s String, t DateTime64(3)) ENGINE = MergeTree ORDER BY k
              SETTINGS non_replicated_deduplication_window = 100`,
    });
    const values = [
      { k: 1, s: "a", t: "2026-11-23T12:00:00.000Z" },
      { k: 2, s: "b\nc", t: "2026-11-23T12:00:01.000Z" },
    ];
    const first = await client.insert({ table: "standin.d", values, format: "JSONEachRow", clickhouse_settings: { insert_deduplication_token: "tok-1" } });
    assert.equal(first.summary?.written_rows, "2", "X-ClickHouse-Summary of an insert");
    await client.insert({ table: "standin.d", values, format: "JSONEachRow", clickhouse_settings: { insert_deduplication_token: "tok-1" } });
    let [c] = await rows<{ c: string }>(client, "SELECT count() AS c FROM standin.d");
    assert.equal(Number(c!.c), 2, "the same block with the same token is dropped");
    await client.insert({ table: "standin.d", values, format: "JSONEachRow", clickhouse_settings: { insert_deduplication_token: "tok-2" } });
    [c] = await rows<{ c: string }>(client, "SELECT count() AS c FROM standin.d");
    assert.equal(Number(c!.c), 4, "another token is another insert");
    await client.insert({ table: "standin.d", values: [{ k: 3, s: "only-k-s" }], format: "JSONEachRow", columns: ["k", "s"] });
    const got = await rows<{ k: number; s: string; t: string }>(client, "SELECT k, s, t FROM standin.d WHERE k >= 2 ORDER BY k, t LIMIT 2");
    assert.deepEqual(got, [
      { k: 2, s: "b\nc", t: "2026-11-23 12:00:01.000" },
      { k: 2, s: "b\nc", t: "2026-11-23 12:00:01.000" },
    ]);
  });

  await t.test("compressed requests and responses", async () => {
    const gz = createClient({ url: server.url, compression: { request: true, response: true } });
    try {
      await gz.insert({ table: "standin.d", values: [{ k: 10, s: "gz", t: "2026-11-23 12:00:00" }], format: "JSONEachRow" });
      const rs = await gz.query({ query: "SELECT s FROM standin.d WHERE k = 10", format: "JSONEachRow" });
      assert.equal(rs.response_headers["content-encoding"], "gzip");
      assert.deepEqual(await rs.json(), [{ s: "gz" }]);
    } finally {
      await gz.close();
    }
  });

  await t.test("errors reject with the ClickHouse code, type and message", async () => {
    await assert.rejects(
      client.query({ query: "SELECT * FROM standin.nope", format: "JSONEachRow" }),
      (e: unknown) => e instanceof ClickHouseError && e.code === "60" && e.type === "UNKNOWN_TABLE" && /nope/.test(e.message),
    );
    await assert.rejects(
      client.command({ query: "SELECT 1", clickhouse_settings: { no_such_setting_at_all: 1 } as Record<string, number> }),
      (e: unknown) => e instanceof ClickHouseError && e.type === "UNKNOWN_SETTING",
    );
    await assert.rejects(
      client.insert({ table: "standin.d", values: [{ k: "not a number" }], format: "JSONEachRow" }),
      (e: unknown) => e instanceof ClickHouseError && Number(e.code) > 0,
    );
    const r = await fetch(`${server.url}/?query=${encodeURIComponent("SELEC 1")}`);
    assert.equal(r.status, 400);
    assert.equal(r.headers.get("x-clickhouse-exception-code"), "62");
    assert.match(await r.text(), /^Code: 62\. DB::Exception: .*\(SYNTAX_ERROR\)/);
    const ro = await fetch(`${server.url}/?query=${encodeURIComponent("CREATE TABLE standin.ro (a UInt8) ENGINE = Memory")}`);
    assert.equal(ro.headers.get("x-clickhouse-exception-code"), "164", "GET is read-only, as on a server");
  });

  await t.test("Avro through input(): HttpStorage with migrations, flowsInsert and per-container tokens", async () => {
    const cfg = clickhouseConfig.parse({ url: server.url, database: "sky_http" });
    const storage = await openStorage(cfg, log);
    try {
      assert.equal(storage.kind, "http");
      assert.deepEqual(
        await migrate(storage, cfg, log),
        MIGRATIONS.filter((m) => !m.clusterOnly).map((m) => m.version),
      );
      assert.deepEqual(await migrate(storage, cfg, log), [], "migrations apply once");
      const codec = new AvroCodec();
      const framed = (i: number) => codec.encode(FLOW_RECORD, syntheticFlow(i, NOW, "h-http"));
      // The schema the codec writes FlowRecords with, as the sink builds its containers.
      const schema = codec.schema(readFrame(framed(0)).schemaId)!.schema;
      const body = (i: number) => framed(i).subarray(FRAME_HEADER_SIZE);
      const N = 3000;
      const bodies = Array.from({ length: N }, (_, i) => body(i));
      const containers = [buildContainer(schema, bodies.slice(0, N / 2)), buildContainer(schema, bodies.slice(N / 2))];
      await storage.insertAvro(flowsInsert(cfg, schema, containers, "flows:0:0:0-2999"));
      await storage.insertAvro(flowsInsert(cfg, schema, containers, "flows:0:0:0-2999"));
      const [r] = await rows<Record<string, string>>(
        storage.client,
        `SELECT count() AS n, uniqExact(UUID) AS u, sum("LastUpdateMetric.ABPackets") AS abp, sum("LastUpdateMetric.BABytes") AS bab,
                min(toUnixTimestamp64Milli(Time)) AS tmin, any(toString("Network.A")) AS na
         FROM sky_http.flows WHERE Host = {h:String}`,
        { h: "h-http" },
      );
      let abp = 0,
        bab = 0;
      for (let i = 0; i < N; i++) {
        abp += 1 + (i % 7);
        bab += (i % 5) * 1000;
      }
      assert.equal(Number(r!.n), N, "the repeated insert (same tokens) was dropped");
      assert.equal(Number(r!.u), N);
      assert.equal(Number(r!.abp), abp);
      assert.equal(Number(r!.bab), bab);
      assert.equal(Number(r!.tmin), NOW);
      assert.match(r!.na!, /^::ffff:198\.18\./);
      await storage.insertAvro(flowsInsert(cfg, schema, containers, "flows:0:0:3000-5999"));
      const [again] = await rows<{ n: string }>(storage.client, "SELECT count() AS n FROM sky_http.flows");
      assert.equal(Number(again!.n), 2 * N, "another token inserts again");
      await storage.healthcheck();
    } finally {
      await storage.close();
    }
  });

  await t.test("data survives SIGKILL and a restart on the same directory and port", async () => {
    const before = await rows<{ c: string }>(client, "SELECT count() AS c FROM sky_http.flows");
    const pid = server.pid();
    await server.kill();
    assert.equal(server.running(), false);
    const down = await client.ping();
    assert.equal(down.success, false, "nothing answers while it is down");
    await assert.rejects(client.query({ query: "SELECT 1" }));
    await server.restart();
    assert.notEqual(server.pid(), pid);
    assert.deepEqual(await client.ping(), { success: true }, "the same client reconnects to the same URL");
    assert.deepEqual(await rows<{ c: string }>(client, "SELECT count() AS c FROM sky_http.flows"), before);
    const [d] = await rows<{ c: string }>(client, "SELECT count() AS c FROM standin.d");
    assert.equal(Number(d!.c), 6);
    // Deduplication windows survive too: the first insert's block is still known.
    await client.insert({
      table: "standin.d",
      values: [
        { k: 1, s: "a", t: "2026-11-23T12:00:00.000Z" },
        { k: 2, s: "b\nc", t: "2026-11-23T12:00:01.000Z" },
      ],
      format: "JSONEachRow",
      clickhouse_settings: { insert_deduplication_token: "tok-1" },
    });
    const [d2] = await rows<{ c: string }>(client, "SELECT count() AS c FROM standin.d");
    assert.equal(Number(d2!.c), 6, "a token seen before the kill still deduplicates after it");
    await server.stop();
    assert.equal(server.running(), false);
  });
});
