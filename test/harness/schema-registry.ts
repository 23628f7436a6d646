// A real Confluent-compatible Schema Registry on 127.0.0.1 for tests: Apicurio Registry (in-memory
// storage) from Maven Central through test/schema-registry/fetch-apicurio.sh, its Confluent API at
// /apis/ccompat/v7. It needs Java 21 or newer, which is looked for beside the default Java.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, openSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "./kafka.ts";

const DIR = fileURLToPath(new URL("../schema-registry/", import.meta.url));
export const APICURIO_VERSION = /^version=(.+)$/m.exec(readFileSync(join(DIR, "fetch-apicurio.sh"), "utf8"))![1]!;
const APP = join(DIR, "dist", `apicurio-registry-${APICURIO_VERSION}`);
/** Where the Confluent-compatible API lives under the server's root. */
export const CCOMPAT_PATH = "/apis/ccompat/v7";

export interface SchemaRegistryServer {
  /** The Confluent API's root: what schema_registry.url and format_avro_schema_registry_url take. */
  url: string;
  pid: number;
  logFile: string;
  startedInMs: number;
  stop(): Promise<void>;
  unref(): void;
  logTail(lines?: number): string;
}

export function ensureApicurio(): void {
  const r = spawnSync("bash", [join(DIR, "fetch-apicurio.sh")], { stdio: "inherit" });
  if (r.status !== 0) throw new Error(`test/schema-registry/fetch-apicurio.sh failed with status ${r.status}`);
}

function majorOf(java: string): number {
  const r = spawnSync(java, ["-version"], { encoding: "utf8" });
  const m = /version "(\d+)/.exec(`${r.stderr}${r.stdout}`);
  return m ? Number(m[1]) : 0;
}

/** A java of version 21 or newer: SKYSTREAM_TEST_JAVA, JAVA_HOME's, the PATH's, else the newest under /usr/lib/jvm. */
export function java21(): string {
  const candidates = [
    process.env.SKYSTREAM_TEST_JAVA,
    process.env.JAVA_HOME && join(process.env.JAVA_HOME, "bin", "java"),
    "java",
    ...(existsSync("/usr/lib/jvm") ? readdirSync("/usr/lib/jvm").map((d) => join("/usr/lib/jvm", d, "bin", "java")) : []),
  ].filter((j): j is string => !!j && (j === "java" || existsSync(j)));
  const found = candidates.map((j) => ({ j, v: majorOf(j) })).sort((a, b) => b.v - a.v)[0];
  if (!found || found.v < 21) {
    throw new Error(
      `Apicurio Registry ${APICURIO_VERSION} needs Java 21 or newer; found ${candidates.map((j) => `${j} (${majorOf(j) || "?"})`).join(", ")}. ` +
        "Install one (a JDK under /usr/lib/jvm is found) or set SKYSTREAM_TEST_JAVA to its java.",
    );
  }
  return found.j;
}

/** Starts Apicurio Registry on a free port and waits until its Confluent API answers. */
export async function startSchemaRegistry(opts: { timeoutMs?: number } = {}): Promise<SchemaRegistryServer> {
  ensureApicurio();
  const java = java21();
  const dir = mkdtempSync(join(tmpdir(), "skystream-registry-"));
  const port = await freePort();
  const logFile = join(dir, "registry.log");
  const t0 = Date.now();
  const child: ChildProcess = spawn(
    java,
    [
      "-Xmx512m",
      "-XX:TieredStopAtLevel=1",
      "-XX:+UseSerialGC",
      `-Dquarkus.http.host=127.0.0.1`,
      `-Dquarkus.http.port=${port}`,
      "-Dquarkus.http.access-log.enabled=false",
      "-jar",
      join(APP, "quarkus-run.jar"),
    ],
    // Output to a file: the registry may outlive the process that started it (test/run-all.sh).
    { cwd: dir, stdio: ["ignore", openSync(logFile, "a"), openSync(logFile, "a")] },
  );
  const base = `http://127.0.0.1:${port}${CCOMPAT_PATH}`;
  const server: SchemaRegistryServer = {
    url: base,
    pid: child.pid!,
    logFile,
    startedInMs: 0,
    logTail: (lines = 60) => (existsSync(logFile) ? readFileSync(logFile, "utf8").split("\n").slice(-lines).join("\n") : ""),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(t);
    },
    unref: () => child.unref(),
  };
  const deadline = t0 + (opts.timeoutMs ?? 120_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Apicurio Registry exited with ${child.exitCode}:\n${server.logTail()}`);
    const ok = await fetch(`${base}/subjects`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`Apicurio Registry did not answer within ${opts.timeoutMs ?? 120_000} ms:\n${server.logTail()}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  server.startedInMs = Date.now() - t0;
  return server;
}

/**
 * The registry of this test run: the one at TEST_SCHEMA_REGISTRY_URL (started once by test/run-all.sh),
 * else one started for this process and killed at its exit. A registry that cannot start is an error.
 */
let shared: Promise<{ url: string; logTail: () => string }> | undefined;
export function testSchemaRegistry(): Promise<{ url: string; logTail: () => string }> {
  const fromEnv = process.env.TEST_SCHEMA_REGISTRY_URL;
  if (fromEnv) return Promise.resolve({ url: fromEnv, logTail: () => "(registry started by test/run-all.sh)" });
  shared ??= startSchemaRegistry().then((s) => {
    s.unref();
    process.once("exit", () => {
      try {
        process.kill(s.pid, "SIGKILL");
      } catch {
        /* already gone */
      }
    });
    return s;
  });
  return shared;
}
