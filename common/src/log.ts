import pino, { type Logger } from "pino";
import { z } from "zod";
import { section } from "./config/types.js";

export type { Logger } from "pino";

export const logConfig = section({
  /** Log level: fatal, error, warn, info, debug, trace. */
  level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** pretty prints human-readable lines (needs a TTY); json is for collectors. */
  format: z.enum(["json", "pretty"]).default("json"),
});

export function createLogger(cfg: { level: string }, name = "skystream"): Logger {
  // Logs go to stderr: stdout belongs to command output (--print, client queries).
  return pino({ name, level: cfg.level, base: { pid: process.pid } }, pino.destination(2));
}
