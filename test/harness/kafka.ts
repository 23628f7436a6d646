// A real Apache Kafka broker (KRaft, one node: broker + controller) on 127.0.0.1 for tests and benchmarks.
// The jars come from Maven Central through test/kafka/fetch-kafka.sh; one broker per test run.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, existsSync, openSync } from "node:fs";
import { createServer, connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const KAFKA_DIR = fileURLToPath(new URL("../kafka/", import.meta.url));
const LIB = join(KAFKA_DIR, "lib");

export interface KafkaBroker {
  bootstrap: string;
  /** With `tls`: the SSL listener, which requires a client certificate signed by the CA. */
  sslBootstrap?: string;
  dir: string;
  logFile: string;
  pid: number;
  stop(): Promise<void>;
  /** Starts the stopped broker again on the same port and log dir. */
  restart(): Promise<void>;
  /** Lets this process exit while the broker runs (it is killed at exit). */
  unref(): void;
  /** Last lines of the broker log, for failure reports. */
  logTail(lines?: number): string;
}

export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

/** Distinct free ports: all are held until every one is found (a port closed may be handed out again). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const s = createServer();
          s.unref();
          s.on("error", reject);
          s.listen(0, "127.0.0.1", () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

export function ensureKafkaJars(): void {
  const r = spawnSync("bash", [join(KAFKA_DIR, "fetch-kafka.sh")], { stdio: "inherit" });
  if (r.status !== 0) throw new Error(`test/kafka/fetch-kafka.sh failed with status ${r.status}`);
}

function java(args: string[], extra: string[] = []): ReturnType<typeof spawnSync> {
  return spawnSync("java", [...extra, "-cp", `${LIB}/*`, ...args], { encoding: "utf8" });
}

async function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/** Formats a fresh log dir, starts the broker and waits until it serves metadata. */
export async function startKafka(opts: { heap?: string; timeoutMs?: number; tls?: { ca: string; cert: string; key: string } } = {}): Promise<KafkaBroker> {
  ensureKafkaJars();
  const dir = mkdtempSync(join(tmpdir(), "skystream-kafka-"));
  const [port, controllerPort, sslPort] = (await freePorts(3)) as [number, number, number];
  const props = join(dir, "server.properties");
  // The SSL listener reads PEM files: the key store is the key followed by its certificate.
  const ssl = opts.tls
    ? (writeFileSync(join(dir, "broker.pem"), readFileSync(opts.tls.key, "utf8") + readFileSync(opts.tls.cert, "utf8")),
      [
        "ssl.keystore.type=PEM",
        `ssl.keystore.location=${join(dir, "broker.pem")}`,
        "ssl.truststore.type=PEM",
        `ssl.truststore.location=${opts.tls.ca}`,
        "ssl.client.auth=required",
      ])
    : [];
  const sslListener = opts.tls ? `,SSL://127.0.0.1:${sslPort}` : "";
  writeFileSync(
    props,
    [
      "process.roles=broker,controller",
      "node.id=1",
      `controller.quorum.bootstrap.servers=127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}${sslListener}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}${sslListener}`,
      "controller.listener.names=CONTROLLER",
      "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SSL:SSL",
      ...ssl,
      "inter.broker.listener.name=PLAINTEXT",
      `log.dirs=${join(dir, "data")}`,
      "num.partitions=1",
      "offsets.topic.replication.factor=1",
      "offsets.topic.num.partitions=4",
      "transaction.state.log.replication.factor=1",
      "transaction.state.log.min.isr=1",
      "share.coordinator.state.topic.replication.factor=1",
      "share.coordinator.state.topic.min.isr=1",
      "group.initial.rebalance.delay.ms=0",
      "auto.create.topics.enable=false",
      "log.flush.interval.messages=9223372036854775807",
      "message.max.bytes=16777216",
    ].join("\n") + "\n",
  );
  const fmt = java(["kafka.tools.StorageTool", "format", "--standalone", "-t", "c2t5c3RyZWFtLXRlc3QtMQ", "-c", props]);
  if (fmt.status !== 0) throw new Error(`kafka storage format failed: ${String(fmt.stderr)}${String(fmt.stdout)}`);
  const logFile = join(dir, "broker.log");
  let child!: ChildProcess;
  const launch = async () => {
    const startedBefore = existsSync(logFile) ? readFileSync(logFile, "utf8").length : 0;
    child = spawn(
      "java",
      [
        `-Xmx${opts.heap ?? "768m"}`,
        "-Xms256m",
        "-XX:+UseG1GC",
        "-XX:TieredStopAtLevel=1",
        `-Dlog4j2.configurationFile=${join(KAFKA_DIR, "log4j2.properties")}`,
        `-Dkafka.logs.file=${logFile}`,
        "-cp",
        `${LIB}/*`,
        "kafka.Kafka",
        props,
      ],
      // Output to files, not pipes: the broker may outlive the process that started it (test/run-all.sh).
      { stdio: ["ignore", openSync(join(dir, "stdout.log"), "a"), openSync(join(dir, "stderr.log"), "a")] },
    );
    broker.pid = child.pid!;
    const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
    for (;;) {
      if (child.exitCode !== null) throw new Error(`kafka broker exited with ${child.exitCode}:\n${broker.logTail()}`);
      if (await accepts(port)) {
        // Listening is not serving: wait for the broker to say it started (metadata is up then).
        const log = existsSync(logFile) ? readFileSync(logFile, "utf8").slice(startedBefore) : "";
        if (/Kafka Server started/.test(log)) return;
      }
      if (Date.now() > deadline) {
        await broker.stop();
        throw new Error(`kafka broker did not start within ${opts.timeoutMs ?? 60_000} ms:\n${broker.logTail()}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  const broker: KafkaBroker = {
    bootstrap: `127.0.0.1:${port}`,
    ...(opts.tls ? { sslBootstrap: `127.0.0.1:${sslPort}` } : {}),
    dir,
    logFile,
    pid: 0,
    logTail(lines = 60) {
      const text = existsSync(logFile) ? readFileSync(logFile, "utf8") : "";
      const err = existsSync(join(dir, "stderr.log")) ? readFileSync(join(dir, "stderr.log"), "utf8") : "";
      return (text + err).split("\n").slice(-lines).join("\n");
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(t);
    },
    restart: launch,
    unref: () => child.unref(),
  };
  await launch();
  return broker;
}

/**
 * The broker of this test run: the one named by TEST_KAFKA_BOOTSTRAP (started once by test/run-all.sh),
 * else one started for this process and stopped at exit.
 */
let shared: Promise<{ bootstrap: string; stop: () => Promise<void> }> | undefined;
export function testKafka(): Promise<{ bootstrap: string; stop: () => Promise<void> }> {
  const fromEnv = process.env.TEST_KAFKA_BOOTSTRAP;
  if (fromEnv) return Promise.resolve({ bootstrap: fromEnv, stop: async () => {} });
  shared ??= startKafka().then((b) => {
    b.unref();
    process.once("exit", () => {
      try {
        process.kill(b.pid, "SIGKILL");
      } catch {
        /* already gone */
      }
    });
    return b;
  });
  return shared;
}
