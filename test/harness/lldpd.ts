// lldpd instances inside lab namespaces (never the root one: it would transmit on the host's NICs),
// with a private control socket and a fast transmit interval.
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Lldpd {
  socket: string;
  stop(): Promise<void>;
}

export function startLldpd(ns: string, ifname: string, systemName: string, description = `${systemName} (skystream test)`): Lldpd {
  const dir = mkdtempSync(join(tmpdir(), "skystream-lldpd-"));
  chmodSync(dir, 0o755); // the unprivileged lldpd child creates the socket here
  const conf = join(dir, "lldpd.conf");
  writeFileSync(conf, `configure lldp tx-interval 500ms\nconfigure lldp tx-hold 2\nconfigure system hostname ${systemName}\n`);
  const socket = join(dir, "lldpd.sock");
  const child: ChildProcess = spawn("ip", ["netns", "exec", ns, "lldpd", "-d", "-u", socket, "-I", ifname, "-O", conf, "-S", description], { stdio: "ignore" });
  return {
    socket,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    },
  };
}
