// The ClickHouse HTTP stand-in (clickhouse-server/server.ts: the real engine, chDB, behind ClickHouse's HTTP
// interface) as a child process of a test: several processes can share its database through
// SKYSTREAM_CLICKHOUSE_URL, and it can be killed and restarted on the same directory and port.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "./kafka.ts";

const SERVER = fileURLToPath(new URL("./clickhouse-server/server.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface ClickhouseServer {
  /** http://127.0.0.1:PORT, for SKYSTREAM_CLICKHOUSE_URL or createClient({ url }). */
  readonly url: string;
  readonly dataDir: string;
  /** Pid of the current server process. */
  pid(): number;
  running(): boolean;
  /** Its output (all runs), for failure reports. */
  output(): string;
  /** SIGTERM, then SIGKILL after 15 s. */
  stop(): Promise<void>;
  /** SIGKILL: gone at once, nothing flushed. */
  kill(): Promise<void>;
  /** Starts it again on the same directory and port, and waits until it answers /ping. */
  restart(): Promise<void>;
}

export async function startClickhouseServer(opts: { dataDir?: string; queryLog?: string; timeoutMs?: number } = {}): Promise<ClickhouseServer> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), "skystream-chserver-"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let out = "";
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const alive = () => child !== undefined && child.exitCode === null && child.signalCode === null;

  const launch = async () => {
    if (alive()) throw new Error("the ClickHouse stand-in is already running");
    // stdin stays open while this process lives: the server exits when it closes (this process died).
    const argv = ["--import", "tsx", SERVER, "--data", dataDir, "--port", String(port), "--exit-with-stdin"];
    if (opts.queryLog) argv.push("--query-log", opts.queryLog);
    const c = spawn(process.execPath, argv, {
      cwd: ROOT,
      stdio: ["pipe", "pipe", "pipe"],
    });
    child = c;
    exited = new Promise((r) => c.once("exit", () => r()));
    c.stdin!.on("error", () => {});
    c.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    c.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
    for (;;) {
      if (!alive()) throw new Error(`the ClickHouse stand-in exited (${c.exitCode ?? c.signalCode}) before serving:\n${out.slice(-3000)}`);
      const ok = await fetch(`${url}/ping`)
        .then(async (r) => r.ok && (await r.text()) === "Ok.\n")
        .catch(() => false);
      if (ok) return;
      if (Date.now() > deadline) {
        c.kill("SIGKILL");
        throw new Error(`the ClickHouse stand-in did not answer /ping within ${opts.timeoutMs ?? 60_000} ms:\n${out.slice(-3000)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const signal = async (sig: NodeJS.Signals, graceMs: number) => {
    if (!alive()) return;
    child!.kill(sig);
    const t = setTimeout(() => child?.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(t);
  };

  await launch();
  process.once("exit", () => {
    if (alive()) child!.kill("SIGKILL");
  });
  return {
    url,
    dataDir,
    pid: () => child?.pid ?? -1,
    running: alive,
    output: () => out,
    stop: () => signal("SIGTERM", 15_000),
    kill: () => signal("SIGKILL", 0),
    restart: launch,
  };
}
