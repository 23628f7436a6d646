import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { ConfigError, loadConfig } from "./load.js";
import { duration, hostPort, section } from "./types.js";
import { resolveEnvPath } from "./env.js";
import { parseDuration, formatDuration } from "../duration.js";

const schema = z.strictObject({
  kafka: section({
    brokers: z.array(hostPort).default(["127.0.0.1:9092"]),
    producer: section({ batch_size: z.number().int().min(1).default(100), linger: duration("20ms") }),
    tls: z.boolean().default(false),
  }),
  sinks: z.record(z.string(), z.unknown()).default({}),
  host_id: z.string().default("h"),
});

function yamlFile(text: string): string {
  const f = join(mkdtempSync(join(tmpdir(), "skystream-cfg-")), "c.yaml");
  writeFileSync(f, text);
  return f;
}

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  assert.fail("expected a ConfigError");
}

test("defaults fill an empty config", () => {
  const c = loadConfig(schema, { env: {} });
  assert.deepEqual(c, { kafka: { brokers: ["127.0.0.1:9092"], producer: { batch_size: 100, linger: 20 }, tls: false }, sinks: {}, host_id: "h" });
});

test("environment overrides the file: nested keys with underscores, arrays space-separated, dicts as JSON", () => {
  const file = yamlFile("kafka:\n  brokers: [a:1]\n  producer:\n    batch_size: 5\nhost_id: from-file\n");
  const c = loadConfig(schema, {
    file,
    env: {
      SKYSTREAM_KAFKA_BROKERS: "b:2  c:3",
      SKYSTREAM_KAFKA_PRODUCER_BATCH_SIZE: "7",
      SKYSTREAM_KAFKA_PRODUCER_LINGER: "1s",
      SKYSTREAM_KAFKA_TLS: "true",
      SKYSTREAM_SINKS: '{"clickhouse_flows": {"batch_size": 9}}',
      SKYSTREAM_CONFIG: "/ignored/because/file/is/given",
      OTHER: "x",
    },
  });
  assert.deepEqual(c.kafka.brokers, ["b:2", "c:3"]);
  assert.equal(c.kafka.producer.batch_size, 7);
  assert.equal(c.kafka.producer.linger, 1000);
  assert.equal(c.kafka.tls, true);
  assert.deepEqual(c.sinks, { clickhouse_flows: { batch_size: 9 } });
  assert.equal(c.host_id, "from-file");
});

test("SKYSTREAM_CONFIG names the file", () => {
  const file = yamlFile("host_id: via-env\n");
  assert.equal(loadConfig(schema, { env: { SKYSTREAM_CONFIG: file } }).host_id, "via-env");
});

test("every problem is reported at once, with key, value and what was expected", () => {
  const file = yamlFile("kafka:\n  brokers: [nope]\n  producer:\n    batch_size: 0\n  colour: blue\n");
  const p = problems(() => loadConfig(schema, { file, env: { SKYSTREAM_KAFKA_PRODUCER_LINGER: "thirty", SKYSTREAM_KAFKA_NOPE: "1" } }));
  assert.equal(p.length, 5, p.join("\n"));
  assert.ok(p.some((x) => x.startsWith("SKYSTREAM_KAFKA_NOPE: names no configuration key")));
  assert.ok(p.some((x) => x.startsWith("kafka.brokers[0]: expected host:port") && x.includes('got "nope"')));
  assert.ok(p.some((x) => x.startsWith("kafka.producer.batch_size:") && x.includes("got 0")));
  assert.ok(p.some((x) => x.startsWith("kafka.producer.linger: expected a duration") && x.includes('"thirty"')));
  assert.ok(p.some((x) => x === 'kafka: unknown key "colour"'));
});

test("bad YAML and a missing file are clear errors", () => {
  assert.match(problems(() => loadConfig(schema, { file: yamlFile("kafka: [unclosed\n"), env: {} }))[0]!, /not valid YAML/);
  assert.throws(() => loadConfig(schema, { file: "/nonexistent/skystream.yaml", env: {} }), /cannot read config file/);
});

test("env names resolve by the schema, longest key first", () => {
  assert.deepEqual(resolveEnvPath(schema, ["kafka", "producer", "batch", "size"])?.path, ["kafka", "producer", "batch_size"]);
  assert.deepEqual(resolveEnvPath(schema, ["host", "id"])?.path, ["host_id"]);
  assert.equal(resolveEnvPath(schema, ["kafka", "batch"]), undefined);
});

test("durations", () => {
  assert.equal(parseDuration("5s"), 5000);
  assert.equal(parseDuration("1.5m"), 90_000);
  assert.equal(parseDuration("15d"), 15 * 86_400_000);
  assert.equal(parseDuration(250), 250);
  assert.equal(parseDuration("soon"), undefined);
  assert.equal(formatDuration(86_400_000 * 15), "15d");
  assert.equal(formatDuration(1500), "1500ms");
});
