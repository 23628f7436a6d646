// Probe "host": the host node (hostname, OS, kernel, CPUs, memory), owner of the root namespace's interfaces.
import { cpus, hostname, release, totalmem, type as osType, arch } from "node:os";
import { readFileSync } from "node:fs";
import { z } from "zod";
import { hostNodeId } from "../../../graph/ids.js";
import type { TopologyProbe, TopologyProbeFactory } from "../types.js";

const config = z.strictObject({}).prefault({});

function osRelease(): Record<string, string> {
  try {
    return Object.fromEntries(
      readFileSync("/etc/os-release", "utf8")
        .split("\n")
        .map((l) => /^([A-Z_]+)="?([^"]*)"?$/.exec(l))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => [m[1]!, m[2]!]),
    );
  } catch {
    return {};
  }
}

export const host: TopologyProbeFactory<z.output<typeof config>> = {
  name: "host",
  description: "the host node: hostname, OS, kernel, CPUs, memory",
  config,
  create: (_cfg, deps): TopologyProbe => ({
    id: deps.id,
    async start() {
      const os = osRelease();
      const cpu = cpus();
      deps.graph.sync(
        deps.id,
        [
          {
            ID: hostNodeId(deps.hostId),
            Type: "host",
            Name: deps.hostId,
            Metadata: {
              TID: hostNodeId(deps.hostId),
              Hostname: hostname(),
              OS: osType().toLowerCase(),
              Platform: os.ID ?? "",
              PlatformVersion: os.VERSION_ID ?? "",
              PlatformName: os.PRETTY_NAME ?? "",
              KernelVersion: release(),
              Architecture: arch(),
              CPUs: cpu.length,
              CPUModel: cpu[0]?.model.trim() ?? "",
              MemoryBytes: totalmem(),
            },
          },
        ],
        [],
      );
    },
    async stop() {},
  }),
};
