// The skystream binary as a user runs it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../bin/skystream.js", import.meta.url));

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", env: { ...process.env, ...env }, timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test("--help on the program and on every command", () => {
  const top = run(["--help"]);
  assert.equal(top.code, 0);
  for (const cmd of ["agent", "pipeline", "allinone", "config", "api", "client"]) {
    assert.match(top.out, new RegExp(`^  ${cmd}\\b`, "m"), `${cmd} listed`);
    const r = run([cmd, "--help"]);
    assert.equal(r.code, 0, `${cmd} --help: ${r.err}`);
    assert.match(r.out, new RegExp(`Usage: skystream ${cmd}`));
  }
  assert.match(run(["pipeline", "migrate", "--help"]).out, /apply ClickHouse schema migrations/);
});

test("an invalid config fails at start with every problem, exit status 2", () => {
  const dir = mkdtempSync(join(tmpdir(), "skystream-cli-"));
  const file = join(dir, "bad.yaml");
  writeFileSync(file, "kafka:\n  client: franz\nclickhouse:\n  flows_ttl: forever\npipeline:\n  sinks:\n    nope: {}\n");
  const r = run(["-c", file, "pipeline"], { SKYSTREAM_KAFKA_PRODUCER_BATCH_SIZE: "-3" });
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /invalid configuration \(4 problems\)/);
  assert.match(r.err, /kafka\.client: .*"kafkajs"\|"rdkafka".*got "franz"|kafka\.client: .*got "franz"/);
  assert.match(r.err, /clickhouse\.flows_ttl: expected a duration .*"forever"/);
  assert.match(r.err, /pipeline\.sinks\.nope: unknown sink type "nope" \(known: clickhouse_flows, clickhouse_topology\)/);
  assert.match(r.err, /kafka\.producer\.batch_size: .*got -3/);
});

test("config dump shows the effective config with overrides and durations", () => {
  const r = run(["config", "dump"], { SKYSTREAM_KAFKA_BROKERS: "k1:9092 k2:9092", SKYSTREAM_CLICKHOUSE_FLOWS_TTL: "7d" });
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /brokers:\n\s+- k1:9092\n\s+- k2:9092/);
  assert.match(r.out, /flows_ttl: 7d/);
  assert.match(r.out, /clickhouse_flows:\n\s+topic: skystream\.flows\.v1/);
});

test("api --dump prints the effective config with its api section", () => {
  const r = run(["api", "--dump"], { SKYSTREAM_API_LISTEN: "127.0.0.1:9999" });
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /api:\n\s+listen: 127\.0\.0\.1:9999/);
});

test("agent --print writes the topology snapshot and flows as JSON lines without Kafka", () => {
  const r = run(["agent", "--print", "--synthetic", "0", "--count", "5", "--log-level", "warn"], { SKYSTREAM_AGENT_HOST_ID: "printer" });
  assert.equal(r.code, 0, r.err);
  const all = r.out
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const deltas = all.filter((l) => "TopologyDelta" in l).map((l) => l.TopologyDelta as { Op: string; Node: { Type: string; Name: string } | null });
  assert.equal(deltas[0]?.Op, "SNAPSHOT_BEGIN");
  assert.ok(deltas.some((d) => d.Op === "SNAPSHOT_END"));
  assert.ok(
    deltas.some((d) => d.Node?.Type === "host" && d.Node.Name === "printer"),
    "the host node",
  );
  assert.ok(
    deltas.some((d) => d.Node?.Type === "device" && d.Node.Name === "lo"),
    "the loopback interface",
  );
  const lines = all.filter((l) => "UUID" in l) as { Host: string; UUID: string; CaptureType: string }[];
  assert.equal(lines.length, 5);
  assert.ok(lines.every((f) => f.Host === "printer" && f.CaptureType === "synthetic"));
  assert.equal(new Set(lines.map((f) => f.UUID)).size, 5);
});

test("a topology probe that cannot start is reported once and the others run", () => {
  const r = run(["agent", "--print", "--synthetic", "0", "--count", "1", "--log-level", "error"], {
    SKYSTREAM_AGENT_HOST_ID: "halfway",
    SKYSTREAM_AGENT_TOPOLOGY_PROBES: JSON.stringify({ host: {}, ovsdb: { address: "unix:/nonexistent/db.sock" } }),
  });
  assert.equal(r.code, 0, r.err);
  const errors = r.err.split("\n").filter((l) => l.includes("topology probe failed to start"));
  assert.equal(errors.length, 1, r.err);
  assert.match(errors[0]!, /ovsdb.*cannot reach ovsdb-server at unix:\/nonexistent\/db\.sock/);
  assert.match(r.out, /"Type":"host","Name":"halfway"/, "the host probe still ran");
});
