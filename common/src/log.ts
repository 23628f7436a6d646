import pino, { type Logger } from "pino";
import pinoPretty from "pino-pretty";
import { z } from "zod";
import { section } from "./config/types.js";

export type { Logger } from "pino";

export const logConfig = section({
  /** Log level: fatal, error, warn, info, debug, trace. */
  level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** json for collectors, pretty for people; auto is pretty on a terminal, json otherwise. */
  format: z.enum(["auto", "json", "pretty"]).default("auto"),
});

export function createLogger(cfg: { level: string; format?: string }, name = "skystream"): Logger {
  // Logs go to stderr: stdout belongs to command output (--print, client queries).
  const pretty = cfg.format === "pretty" || (cfg.format !== "json" && process.stderr.isTTY);
  const stream = pretty ? pinoPretty({ destination: 2, colorize: process.stderr.isTTY, ignore: "pid,hostname", sync: true }) : pino.destination(2);
  return pino({ name, level: cfg.level, base: { pid: process.pid } }, stream);
}
