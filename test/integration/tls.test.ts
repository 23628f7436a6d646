// TLS toward Kafka and ClickHouse, both requiring client certificates (mutual TLS): a real broker with an
// SSL listener, the ClickHouse HTTP stand-in over HTTPS, and the real binaries between them: an agent
// (kafkajs) publishes synthetic flows over TLS, a pipeline (librdkafka) consumes them over TLS and inserts
// them over HTTPS. Every flow arrives; clients without a certificate are refused with a clear error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { createBus, kafkaConfig } from "@skystream/common";
import { clickhouseConfig, openStorage } from "@skystream/pipeline/storage/clickhouse/index";
import { freePort, startKafka } from "../harness/kafka.ts";
import { makeCerts } from "../harness/certs.ts";
import { startSkystream, waitFor } from "../harness/skystream-process.ts";
import { agentEnv, pipelineEnv, testNames } from "../harness/names.ts";

const STANDIN = fileURLToPath(new URL("../harness/clickhouse-server/server.ts", import.meta.url));
const N = 20_000;

test(
  "mutual TLS to Kafka (kafkajs and librdkafka) and to ClickHouse: every flow through, clients without a certificate refused",
  { timeout: 240_000 },
  async (t) => {
    const certs = makeCerts();
    const broker = await startKafka({ tls: { ca: certs.ca, ...certs.server } });
    t.after(() => broker.stop());
    const bootstrap = broker.sslBootstrap!;

    const port = await freePort();
    const standin = spawn(
      process.execPath,
      ["--import", "tsx", STANDIN, "--data", mkdtempSync(join(tmpdir(), "skystream-tls-ch-")), "--port", String(port), "--exit-with-stdin"].concat([
        "--tls-cert",
        certs.server.cert,
        "--tls-key",
        certs.server.key,
        "--tls-ca",
        certs.ca,
      ]),
      { stdio: ["pipe", "pipe", "pipe"] },
    );
    t.after(() => standin.kill("SIGKILL"));
    let standinOut = "";
    standin.stdout.on("data", (d: Buffer) => (standinOut += d.toString()));
    standin.stderr.on("data", (d: Buffer) => (standinOut += d.toString()));
    await waitFor("the HTTPS stand-in", async () => (standinOut.includes("ready: https://") ? true : undefined), 60_000);
    const url = `https://127.0.0.1:${port}`;

    const tlsEnv = (prefix: string, client = true) => ({
      [`${prefix}_TLS_ENABLED`]: "true",
      [`${prefix}_TLS_CA`]: certs.ca,
      ...(client ? { [`${prefix}_TLS_CERT`]: certs.client.cert, [`${prefix}_TLS_KEY`]: certs.client.key } : {}),
    });
    const n = testNames("tls");
    const pipeline = await startSkystream(["pipeline"], {
      ...pipelineEnv(n, bootstrap),
      ...tlsEnv("SKYSTREAM_KAFKA"),
      SKYSTREAM_KAFKA_CLIENT: "rdkafka",
      SKYSTREAM_CLICKHOUSE_URL: url,
      ...tlsEnv("SKYSTREAM_CLICKHOUSE"),
    });
    t.after(() => pipeline.kill("SIGKILL"));
    await pipeline.waitForOutput(/pipeline running/, 90_000);
    const agent = await startSkystream(["agent", "--synthetic", "5000", "--count", String(N)], { ...agentEnv(n, bootstrap), ...tlsEnv("SKYSTREAM_KAFKA") });
    t.after(() => agent.kill("SIGKILL"));
    await waitFor(
      "every flow inserted",
      async () => ((await pipeline.metric("skystream_sink_rows_inserted_total", { sink: "clickhouse_flows" })) >= N ? true : undefined),
      120_000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n--- agent\n${agent.output().slice(-2000)}\n--- pipeline\n${pipeline.output().slice(-3000)}`);
    });

    // Read back over HTTPS with the client certificate: exactly N rows.
    const log = pino({ level: "silent" });
    const chTls = { enabled: true, ca: certs.ca, cert: certs.client.cert, key: certs.client.key };
    const storage = await openStorage(clickhouseConfig.parse({ url, tls: chTls }), log);
    t.after(() => storage.close());
    const [row] = await (await storage.client.query({ query: "SELECT count() AS c FROM skystream.flows", format: "JSONEachRow" })).json<{ c: string }>();
    assert.equal(Number(row!.c), N);

    // Without a client certificate: refused, by ClickHouse and by the broker.
    const anonymous = await openStorage(clickhouseConfig.parse({ url, tls: { enabled: true, ca: certs.ca } }), log);
    t.after(() => anonymous.close());
    await assert.rejects(anonymous.healthcheck());
    await assert.rejects(openStorage(clickhouseConfig.parse({ url: `http://127.0.0.1:${port}`, tls: chTls }), log), /needs an https:\/\/ clickhouse.url/);
    assert.throws(() => clickhouseConfig.parse({ url, tls: { enabled: true, cert: certs.client.cert } }), /cert and key go together/);
    for (const client of ["kafkajs", "rdkafka"] as const) {
      const bus = createBus("kafka", kafkaConfig.parse({ client, brokers: [bootstrap], connection_timeout: "3s", tls: { enabled: true, ca: certs.ca } }), log);
      const refused = await Promise.race([
        bus.lag(`${n.group}-x`, n.flows).then(
          () => "answered",
          (e: Error) => `refused: ${e.message}`,
        ),
        new Promise<string>((r) => setTimeout(() => r("no answer in 20 s"), 20_000)),
      ]);
      t.diagnostic(`${client} without a client certificate: ${refused}`);
      assert.match(refused, /^refused: /, `${client} without a client certificate`);
      await bus.close().catch(() => undefined);
    }
    // A CA file that does not exist: a clear error at start, naming the setting.
    assert.throws(
      () => createBus("kafka", kafkaConfig.parse({ brokers: [bootstrap], tls: { enabled: true, ca: "/nonexistent/ca.pem" } }), log),
      /kafka\.tls\.ca: cannot read/,
    );
  },
);
