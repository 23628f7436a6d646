import { Command } from "commander";
import { stringify } from "yaml";
import { formatDuration } from "@skystream/common";
import { readConfig, type GlobalOptions } from "../runtime.js";
import type { SkystreamConfig } from "../../config.js";

// Durations are held in ms; print them back as durations where the key says so.
const DURATION_KEYS = /(timeout|linger|ttl|interval)$/;

export function printConfig(cfg: SkystreamConfig): void {
  const walk = (v: unknown, key = ""): unknown => {
    if (Array.isArray(v)) return v.map((x) => walk(x));
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, k)]));
    if (typeof v === "number" && DURATION_KEYS.test(key)) return formatDuration(v);
    return v;
  };
  process.stdout.write(stringify(walk(cfg)));
}

export function configCommand(globals: () => GlobalOptions): Command {
  const cmd = new Command("config").description("show or check the configuration");
  cmd
    .command("dump")
    .description("print the effective config (file + SKYSTREAM_* overrides + defaults) as YAML")
    .action(() => printConfig(readConfig(globals())));
  cmd
    .command("check")
    .description("validate the config and exit (status 2 with every problem listed when invalid)")
    .action(() => {
      readConfig(globals());
      console.log("configuration is valid");
    });
  return cmd;
}
