// An Open vSwitch instance of its own for a test: ovsdb-server and ovs-vswitchd (userspace datapath)
// in a scratch directory and their own network namespace, never the system's.
import { execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Ovs {
  dir: string;
  ns: string;
  socket: string;
  vsctl(...args: string[]): string;
  stop(): void;
}

const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

export function startOvs(ns: string): Ovs {
  const dir = mkdtempSync(join(tmpdir(), "skystream-ovs-"));
  for (const d of ["run", "log", "db"]) mkdirSync(join(dir, d));
  const socket = join(dir, "run", "db.sock");
  run("ovsdb-tool", ["create", join(dir, "db", "conf.db"), "/usr/share/openvswitch/vswitch.ovsschema"]);
  run("ip", [
    "netns",
    "exec",
    ns,
    "ovsdb-server",
    join(dir, "db", "conf.db"),
    `--remote=punix:${socket}`,
    `--pidfile=${join(dir, "run", "ovsdb-server.pid")}`,
    `--unixctl=${join(dir, "run", "ovsdb-server.ctl")}`,
    `--log-file=${join(dir, "log", "ovsdb-server.log")}`,
    "--detach",
  ]);
  const vsctl = (...args: string[]) => run("ovs-vsctl", [`--db=unix:${socket}`, ...args]);
  vsctl("--no-wait", "init");
  // What ovs-ctl does at start: record the versions in the database.
  const version = /(\d+\.\d+\.\d+)/.exec(run("ovs-vswitchd", ["--version"]))?.[1] ?? "";
  vsctl("--no-wait", "set", "Open_vSwitch", ".", `ovs_version=${version}`);
  run("ip", [
    "netns",
    "exec",
    ns,
    "ovs-vswitchd",
    `unix:${socket}`,
    `--pidfile=${join(dir, "run", "ovs-vswitchd.pid")}`,
    `--unixctl=${join(dir, "run", "ovs-vswitchd.ctl")}`,
    `--log-file=${join(dir, "log", "ovs-vswitchd.log")}`,
    "--detach",
  ]);
  return {
    dir,
    ns,
    socket,
    vsctl,
    stop() {
      for (const ctl of ["ovs-vswitchd.ctl", "ovsdb-server.ctl"]) {
        try {
          run("ovs-appctl", ["-t", join(dir, "run", ctl), "exit"]);
        } catch {
          /* already gone */
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
