// A real container engine for tests: podman serving the Docker Engine API on a private socket, with a
// busybox image built here from Debian's busybox-static (nothing is pulled). Settings this sandbox needs:
// runc with cgroupfs (crun refuses hybrid cgroups) and no default ulimits (no CAP_SYS_RESOURCE).
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const TEST_IMAGE = "localhost/skystream-busybox:test";

export interface Podman {
  socket: string;
  run(name: string, netns: string): string;
  remove(name: string): void;
  stop(): Promise<void>;
}

export async function startPodman(): Promise<Podman> {
  const dir = mkdtempSync(join(tmpdir(), "skystream-podman-"));
  const conf = join(dir, "containers.conf");
  writeFileSync(conf, '[containers]\ndefault_ulimits = []\n[engine]\ncgroup_manager = "cgroupfs"\nruntime = "runc"\n');
  const env = { ...process.env, CONTAINERS_CONF: conf };
  const podman = (...args: string[]) => execFileSync("podman", args, { env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  try {
    podman("image", "exists", TEST_IMAGE);
  } catch {
    const root = join(dir, "rootfs");
    mkdirSync(join(root, "bin"), { recursive: true });
    cpSync("/usr/bin/busybox", join(root, "bin", "busybox"));
    for (const c of ["sh", "sleep", "nc"]) symlinkSync("busybox", join(root, "bin", c));
    execFileSync("tar", ["-C", root, "-cf", join(dir, "rootfs.tar"), "."]);
    podman("import", join(dir, "rootfs.tar"), TEST_IMAGE);
  }
  const socket = join(dir, "podman.sock");
  const service: ChildProcess = spawn("podman", ["system", "service", "--time=0", `unix://${socket}`], { env, stdio: "ignore" });
  for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 100));
  if (!existsSync(socket)) throw new Error("podman system service did not create its socket");
  const names: string[] = [];
  return {
    socket,
    run(name, netns) {
      names.push(name);
      return podman("run", "-d", "--name", name, "--network", `ns:/run/netns/${netns}`, "--label", "skystream.test=1", TEST_IMAGE, "/bin/sleep", "600");
    },
    remove(name) {
      podman("rm", "-f", "-t", "0", name);
    },
    async stop() {
      for (const n of names) {
        try {
          podman("rm", "-f", "-t", "0", n);
        } catch {
          /* already removed */
        }
      }
      service.kill();
    },
  };
}
