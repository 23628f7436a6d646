// Runs the real `skystream` binary as a child process (pipeline, agent, allinone) for integration tests,
// with config from SKYSTREAM_* variables, and reads its /metrics.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { freePort } from "./kafka.ts";

const BIN = fileURLToPath(new URL("../../pipeline/bin/skystream.js", import.meta.url));

export interface SkystreamProcess {
  child: ChildProcess;
  metricsUrl: string;
  output(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
  /** Sum of a metric's samples, optionally only those with all the given labels. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** Waits for a line of output, failing at once if the process exits first. */
  waitForOutput(re: RegExp, timeoutMs?: number): Promise<void>;
}

/** Runs `skystream ARGS`; with `netns`, inside that network namespace (its metrics are then out of reach). */
export async function startSkystream(args: string[], env: Record<string, string>, opts: { netns?: string } = {}): Promise<SkystreamProcess> {
  // Metrics where `env` says (SKYSTREAM_METRICS_LISTEN), else on a free loopback port.
  const listen = env.SKYSTREAM_METRICS_LISTEN ?? `127.0.0.1:${await freePort()}`;
  const [cmd, argv] = opts.netns ? ["ip", ["netns", "exec", opts.netns, process.execPath, BIN, ...args]] : [process.execPath, [BIN, ...args]];
  const child = spawn(cmd, argv, {
    env: { ...process.env, SKYSTREAM_LOG_LEVEL: "info", ...env, SKYSTREAM_METRICS_LISTEN: listen },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const metricsUrl = `http://${listen.replace(/^0\.0\.0\.0:/, "127.0.0.1:")}/metrics`;
  const proc: SkystreamProcess = {
    child,
    metricsUrl,
    output: () => out,
    exited,
    async kill(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    async waitForOutput(re: RegExp, timeoutMs = 60_000) {
      await waitFor(
        `output ${re}`,
        async () => {
          if (re.test(out)) return true;
          if (child.exitCode !== null || child.signalCode !== null)
            throw new Error(`exited (${child.exitCode ?? child.signalCode}) before printing ${re}:\n${out.slice(-3000)}`);
          return undefined;
        },
        timeoutMs,
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n${out.slice(-3000)}`);
      });
    },
    async metric(name: string, labels: Record<string, string> = {}) {
      const text = await (await fetch(metricsUrl)).text();
      const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
      let sum = 0;
      for (const line of text.split("\n")) {
        if (!line.startsWith(name) || (line[name.length] !== "{" && line[name.length] !== " ")) continue;
        if (want.every((w) => line.includes(w))) sum += Number(line.slice(line.lastIndexOf(" ") + 1));
      }
      return sum;
    },
  };
  return proc;
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 60_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      if (String(err).includes("exited (")) throw err;
      lastErr = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ""}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
