// pmacct daemons for tests, each a foreground child (daemonize: false) inside a lab namespace with its own
// scratch directory: pmacctd with the sfprobe plugin (packets captured on a veth -> sFlow v5 datagrams) and
// sfacctd with the print plugin (sFlow in -> JSON lines out), plus the child-process helper they share.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** A child process whose output is kept, stopped by its own pid (and the processes it forked). */
export interface Proc {
  readonly child: ChildProcess;
  readonly pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  running(): boolean;
  /** Sends `signal`, waits up to `graceMs`, then SIGKILLs it and whatever it forked. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

/** Start time of a process (field 22 of /proc/PID/stat), so a pid reused by someone else is never killed. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

/** Every process descended from `pid`, with its start time. */
export function descendants(pid: number): { pid: number; start: string }[] {
  const parent = new Map<number, number>();
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, "utf8");
      parent.set(Number(e), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      /* exited meanwhile */
    }
  }
  const out: { pid: number; start: string }[] = [];
  const todo = [pid];
  while (todo.length) {
    const p = todo.pop()!;
    for (const [c, pp] of parent) {
      if (pp !== p) continue;
      const start = startTime(c);
      if (start !== undefined) out.push({ pid: c, start });
      todo.push(c);
    }
  }
  return out;
}

export function spawnProc(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; stdin?: boolean } = {}): Proc {
  const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: [opts.stdin ? "pipe" : "ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8").on("data", (s: string) => (out += s));
  child.stderr!.setEncoding("utf8").on("data", (s: string) => (err += s));
  child.stdin?.on("error", () => {}); // EPIPE when the child died first
  const exited = new Promise<number | null>((resolve) => {
    child.once("error", (e) => {
      err += `spawn error: ${e.message}\n`;
      resolve(-1);
    });
    child.once("exit", (code) => resolve(code));
  });
  let done = false;
  void exited.then(() => (done = true));
  if (child.pid === undefined) done = true;
  const pid = child.pid ?? -1;
  return {
    child,
    pid,
    stdout: () => out,
    stderr: () => err,
    exited,
    running: () => !done,
    async stop(signal: NodeJS.Signals = "SIGTERM", graceMs = 5000) {
      if (done) return;
      const forked = descendants(pid);
      child.kill(signal);
      const timer = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), graceMs).unref());
      if ((await Promise.race([exited, timer])) === "timeout") {
        child.kill("SIGKILL");
        await exited;
      }
      // Children it forked and did not take down with it (pmacct plugins, dumpcap).
      for (const d of forked) {
        if (startTime(d.pid) !== d.start) continue;
        try {
          process.kill(d.pid, "SIGKILL");
        } catch {
          /* gone */
        }
      }
    },
  };
}

/** Polls `fn` until it returns something other than undefined/false; fails after `timeoutMs` with `what`. */
export async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs = 15_000, everyMs = 50, proc?: Proc): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (proc && !proc.running()) throw new Error(`${what}: the process exited (code ${await proc.exited}); stderr: ${proc.stderr().slice(-2000)}`);
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${proc ? `; stderr: ${proc.stderr().slice(-2000)}` : ""}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const readText = (f: string) => (existsSync(f) ? readFileSync(f, "utf8") : "");

export interface Pmacctd {
  proc: Proc;
  log(): string;
  /** SIGINT (pmacct's clean shutdown); resolves with the log. */
  stop(): Promise<string>;
}

/** pmacctd capturing on `iface` in `ns`, every packet (sampling_rate 1) exported by sfprobe as sFlow v5. */
export async function startPmacctd(
  ns: string,
  dir: string,
  o: { iface: string; receiver: string; agentIp?: string; agentSubId: number; ifIndex: number },
): Promise<Pmacctd> {
  const conf = join(dir, "sfprobe.conf");
  const logfile = join(dir, "pmacctd.log");
  writeFileSync(
    conf,
    [
      "daemonize: false",
      `pcap_interface: ${o.iface}`,
      "plugins: sfprobe[sf]",
      `sfprobe_receiver[sf]: ${o.receiver}`,
      `sfprobe_agentip[sf]: ${o.agentIp ?? "127.0.0.1"}`,
      `sfprobe_agentsubid[sf]: ${o.agentSubId}`,
      `sfprobe_ifindex[sf]: ${o.ifIndex}`,
      "sampling_rate: 1",
      `logfile: ${logfile}`,
      "",
    ].join("\n"),
  );
  const proc = spawnProc("ip", ["netns", "exec", ns, "pmacctd", "-f", conf]);
  const log = () => readText(logfile);
  const stop = async () => {
    await proc.stop("SIGINT");
    return log();
  };
  try {
    await until("pmacctd capturing and sfprobe exporting", () => /link type is/.test(log()) && /Sampling at: 1\/1/.test(log()), 15_000, 50, proc);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\npmacctd log:\n${log()}`);
  }
  return { proc, log, stop };
}

/** One JSON line of sfacctd's print plugin (aggregate src_host, dst_host, proto, in_iface, out_iface, etype). */
export interface SfacctdRecord {
  event_type: string;
  etype: string;
  iface_in: number;
  iface_out: number;
  ip_src: string;
  ip_dst: string;
  /** A number with print_num_protos. */
  ip_proto: number | string;
  packets: number;
  bytes: number;
}

export interface Sfacctd {
  proc: Proc;
  port: number;
  log(): string;
  /** Every record written so far (all purge files). */
  records(): SfacctdRecord[];
  stop(): Promise<void>;
}

/** sfacctd on 127.0.0.1:`port` in `ns`, renormalising by the advertised sampling rate, JSON lines every second. */
export async function startSfacctd(ns: string, dir: string, port: number): Promise<Sfacctd> {
  const conf = join(dir, "sfacctd.conf");
  const logfile = join(dir, "sfacctd.log");
  writeFileSync(
    conf,
    [
      "daemonize: false",
      `sfacctd_port: ${port}`,
      "sfacctd_ip: 127.0.0.1",
      "sfacctd_renormalize: true",
      "plugins: print",
      "aggregate: src_host, dst_host, proto, in_iface, out_iface, etype",
      "print_output: json",
      "print_num_protos: true",
      `print_output_file: ${join(dir, "sfacctd-flows-%s.json")}`,
      "print_output_file_append: true",
      "print_refresh_time: 1",
      `logfile: ${logfile}`,
      "",
    ].join("\n"),
  );
  const proc = spawnProc("ip", ["netns", "exec", ns, "sfacctd", "-f", conf]);
  const log = () => readText(logfile);
  const records = () => {
    const out: SfacctdRecord[] = [];
    for (const f of readdirSync(dir)
      .filter((n) => n.startsWith("sfacctd-flows-"))
      .sort()) {
      for (const line of readText(join(dir, f)).split("\n")) {
        if (!line.trim()) continue;
        try {
          out.push(JSON.parse(line) as SfacctdRecord);
        } catch {
          /* a line being written */
        }
      }
    }
    return out;
  };
  const stop = () => proc.stop("SIGINT");
  try {
    await until(`sfacctd listening on 127.0.0.1:${port}`, () => log().includes(`waiting for sFlow data on 127.0.0.1:${port}`), 15_000, 50, proc);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\nsfacctd log:\n${log()}`);
  }
  return { proc, port, log, records, stop };
}
