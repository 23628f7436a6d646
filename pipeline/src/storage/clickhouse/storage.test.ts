// The flows table on the embedded engine: migrations, Avro ingest (v1 and a newer writer schema in the
// same insert), null layers, addresses, TTL reconciliation.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import type avro from "avsc";
import { AvroCodec, FLOW_RECORD, FRAME_HEADER_SIZE, buildContainer, builtinCatalog, entry } from "@skystream/schemas";
import { syntheticFlow } from "@skystream/schemas/testing/flows";
import { clickhouseConfig, flowsInsert, migrate, openStorage, splitStatements } from "./index.js";
import { MIGRATIONS, renderSql } from "./migrations.js";

const log = pino({ level: "warn" });
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);

test("migrations, Avro ingest across schema versions, null layers and TTL changes", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "skystream-storage-"));
  const cfg = clickhouseConfig.parse({ data_path: dir, database: "sky_test" });
  const storage = await openStorage(cfg, log);
  t.after(() => storage.close());
  assert.equal(storage.kind, "chdb");

  assert.deepEqual(await migrate(storage, cfg, log), [1, 2, 3, 4, 5, 7, 8, 9]);
  assert.deepEqual(await migrate(storage, cfg, log), [], "migrations apply once");

  const v2 = JSON.parse(readFileSync(new URL("../../../../schemas/src/testdata/FlowRecord.v2-fixture.avsc", import.meta.url), "utf8")) as avro.Schema;
  const v1Codec = new AvroCodec(builtinCatalog().filter((e) => e.id !== 4));
  const current = new AvroCodec();
  const v2Codec = new AvroCodec([...builtinCatalog(), entry(1001, v2, 99)]);
  const body = (c: AvroCodec, v: unknown) => c.encode(FLOW_RECORD, v).subarray(FRAME_HEADER_SIZE);

  const icmp = {
    ...syntheticFlow(1, NOW, "h-icmp"),
    Link: null,
    Transport: null,
    LayersPath: "IPv6/ICMPv6",
    Network: { Protocol: "IPV6" as const, A: "fd00::1", B: "fd00::2", ID: 0 },
    ICMP: { Type: "ECHO" as const, Code: 0, ID: 7 },
    LastUpdateMetric: null,
  };
  const v1Bodies = [body(v1Codec, syntheticFlow(2, NOW, "h-v1")), body(v1Codec, icmp)];
  const v2Bodies = [body(v2Codec, { ...syntheticFlow(3, NOW, "h-v2"), Tenant: "blue", Labels: { a: "b" } })];
  const node = (id: string, name: string, type: string) => ({ ID: id, Name: name, Type: type, Host: "h1" });
  const enriched = {
    ...syntheticFlow(4, NOW, "h-enriched"),
    Enrichment: {
      CaptureNode: node("n-cap", "veth0", "veth"),
      A: {
        Node: node("n-a", "veth0", "veth"),
        Netns: "blue",
        Process: { Pid: 42, Name: "curl", Process: "/usr/bin/curl", Cmdline: "curl x" },
        Container: "",
        K8sNamespace: "",
        K8sPod: "",
      },
      B: {
        Node: node("n-b", "eth0", "veth"),
        Netns: "red",
        Process: { Pid: 7, Name: "nginx", Process: "/usr/sbin/nginx", Cmdline: "" },
        Container: "web",
        K8sNamespace: "",
        K8sPod: "",
      },
      Server: "B" as const,
    },
  };
  // One insert per writer schema: v1, the current one (with the enrichment), and a newer one (v99 fixture).
  await storage.insertAvro(flowsInsert(cfg, v1Codec.schema(1)!.schema, [buildContainer(v1Codec.schema(1)!.schema, v1Bodies)]));
  await storage.insertAvro(flowsInsert(cfg, current.schema(4)!.schema, [buildContainer(current.schema(4)!.schema, [body(current, enriched)])]));
  await storage.insertAvro(flowsInsert(cfg, v2Codec.schema(1001)!.schema, [buildContainer(v2Codec.schema(1001)!.schema, v2Bodies)]));

  const rows = await (
    await storage.client.query({
      query: `SELECT Host, "Link.Protocol" lp, "Network.Protocol" np, toString("Network.A") na, "Transport.Protocol" tp, "Transport.B" tb,
                     "ICMP.Type" it, "ICMP.ID" iid, "LastUpdateMetric.ABBytes" lub, "Metric.ABBytes" mb, toUnixTimestamp64Milli(Time) t, FinishType
              FROM sky_test.flows ORDER BY Host`,
      format: "JSONEachRow",
    })
  ).json<Record<string, string | number>>();
  assert.equal(rows.length, 4);
  const byHost = Object.fromEntries(rows.map((r) => [r.Host, r]));
  assert.deepEqual(
    { lp: byHost["h-v1"]!.lp, np: byHost["h-v1"]!.np, na: byHost["h-v1"]!.na, tp: byHost["h-v1"]!.tp, tb: byHost["h-v1"]!.tb, it: byHost["h-v1"]!.it },
    { lp: "ETHERNET", np: "IPV4", na: "::ffff:198.18.0.2", tp: "TCP", tb: 443, it: "" },
  );
  assert.equal(Number(byHost["h-v1"]!.t), NOW, "Time is the end of the update period");
  assert.deepEqual(
    {
      lp: byHost["h-icmp"]!.lp,
      np: byHost["h-icmp"]!.np,
      na: byHost["h-icmp"]!.na,
      tp: byHost["h-icmp"]!.tp,
      it: byHost["h-icmp"]!.it,
      iid: byHost["h-icmp"]!.iid,
    },
    { lp: "", np: "IPV6", na: "fd00::1", tp: "", it: "ECHO", iid: 7 },
    "null layers are empty, not defaults",
  );
  assert.equal(Number(byHost["h-icmp"]!.lub), 0, "no LastUpdateMetric: zero period volumes");
  assert.equal(Number(byHost["h-icmp"]!.t), NOW, "without LastUpdateMetric, Time is Last");
  assert.equal(Number(byHost["h-v2"]!.mb), syntheticFlow(3, NOW).Metric.ABBytes, "a newer writer schema is read by field name");

  const [e] = await (
    await storage.client.query({
      query: `SELECT "CaptureNode.ID" cap, "A.Node.Name" an, "A.Host" ah, "A.Netns" ans, "A.Process.Pid" apid, "A.Process.Process" aproc,
                     "B.Process.Name" bname, "B.Container" bc, Server, "A.Process.Pid" + "B.Process.Pid" s
              FROM sky_test.flows WHERE Host = 'h-enriched'`,
      format: "JSONEachRow",
    })
  ).json<Record<string, string | number>>();
  assert.deepEqual(e, { cap: "n-cap", an: "veth0", ah: "h1", ans: "blue", apid: 42, aproc: "/usr/bin/curl", bname: "nginx", bc: "web", Server: "B", s: 49 });
  const [plain] = await (
    await storage.client.query({ query: `SELECT Server, "A.Process.Process" p FROM sky_test.flows WHERE Host = 'h-v1'`, format: "JSONEachRow" })
  ).json<Record<string, string>>();
  assert.deepEqual(plain, { Server: "UNKNOWN", p: "" }, "a v1 writer (no Process field) reads as defaults");

  // Queries use Skydive's dotted keys directly.
  const [hit] = await (
    await storage.client.query({ query: `SELECT count() c FROM sky_test.flows WHERE Network.A = '198.18.0.2' AND Transport.B = 443`, format: "JSONEachRow" })
  ).json<{ c: string }>();
  assert.equal(Number(hit!.c), 1);

  // A changed TTL is applied at the next start.
  const cfg2 = clickhouseConfig.parse({ data_path: dir, database: "sky_test", flows_ttl: "3d" });
  await migrate(storage, cfg2, log);
  const [tbl] = await (
    await storage.client.query({ query: `SELECT engine_full FROM system.tables WHERE database = 'sky_test' AND name = 'flows'`, format: "JSONEachRow" })
  ).json<{ engine_full: string }>();
  assert.match(tbl!.engine_full, /toIntervalSecond\(259200\)/);
});

test("SQL files split into statements, comments dropped", () => {
  assert.deepEqual(splitStatements("-- c\nCREATE TABLE a (x UInt8) ENGINE = Memory;\n\n-- d\nSELECT 1;\n"), [
    "CREATE TABLE a (x UInt8) ENGINE = Memory",
    "SELECT 1",
  ]);
});

test("on a cluster: every migration statement parses, runs ON CLUSTER, replicates (sharded or whole) and reads through Distributed tables", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "skystream-storage-cluster-"));
  const storage = await openStorage(clickhouseConfig.parse({ data_path: dir }), log);
  t.after(() => storage.close());
  const cfg = clickhouseConfig.parse({ url: "http://ch:8123", cluster: "sky", database: "sky_db" });
  const statements = MIGRATIONS.flatMap((m) => splitStatements(renderSql(m.sql, cfg)));
  // The engine's own parser (no cluster here to run them on).
  for (const stmt of statements) await storage.client.query({ query: `EXPLAIN AST ${stmt}`, format: "TabSeparated" }).then((r) => r.text());
  const creates = statements.filter((s) => /^(CREATE|ALTER)/.test(s));
  for (const s of creates) assert.match(s, /^(CREATE (MATERIALIZED )?\w+|ALTER TABLE) (IF NOT EXISTS )?sky_db\.\w+ ON CLUSTER sky\b/, s.slice(0, 80));
  const engineOf = (table: string) => statements.find((s) => s.startsWith(`CREATE TABLE IF NOT EXISTS sky_db.${table} `))!.match(/ENGINE = ([^\n]+)/)![1]!;
  for (const table of ["flows", "flow_matrix", "flow_matrix_1h"])
    assert.match(engineOf(table), /^Replicated\w*MergeTree\('\/clickhouse\/tables\/\{shard\}\//, table);
  for (const table of ["sink_ledger", "topology_live", "topology_archive", "topology_origins", "alerts", "alert_firings"])
    assert.match(engineOf(table), /^Replicated\w*MergeTree\('\/clickhouse\/tables\/all\//, table);
  assert.equal(engineOf("flows_all"), "Distributed(sky, sky_db, flows, cityHash64(UUID))");
  assert.equal(engineOf("flow_matrix_all"), "Distributed(sky, sky_db, flow_matrix)");
  // The sink writes through the Distributed table, in the foreground, with its token.
  const ins = flowsInsert({ database: "sky_db", cluster: "sky" }, new AvroCodec().writerFor(FLOW_RECORD).schema, [], "t:0:0:0-9");
  assert.match(ins.insertSelect, /^\s*(--.*\n)*\s*INSERT INTO sky_db\.flows_all \(/);
  assert.deepEqual({ fg: ins.settings?.distributed_foreground_insert, token: ins.settings?.insert_deduplication_token }, { fg: 1, token: "t:0:0:0-9" });
  // Single server: no Distributed migration, plain engines.
  const single = clickhouseConfig.parse({});
  assert.ok(!MIGRATIONS.filter((m) => !m.clusterOnly).some((m) => /Replicated|ON CLUSTER|Distributed/.test(renderSql(m.sql, single))));
  await assert.rejects(openStorage({ ...cfg, url: "" }, log), /needs clickhouse.url/);
});
