// Building blocks for config schemas: every component's config is a strict zod object with defaults.
import { z } from "zod";
import { parseDuration } from "../duration.js";

/** A duration such as "5s", parsed to milliseconds. */
export const duration = (def: string) =>
  z
    .union([z.string(), z.number()])
    .default(def)
    .transform((v, ctx) => {
      const ms = parseDuration(v);
      if (ms === undefined) {
        ctx.addIssue({ code: "custom", message: `expected a duration such as "30s" or "500ms", got ${JSON.stringify(v)}` });
        return z.NEVER;
      }
      return ms;
    });

/** host:port with a port in range. */
export const hostPort = z.string().superRefine((s, ctx) => {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/.exec(s);
  if (!m) ctx.addIssue({ code: "custom", message: "expected host:port" });
  else if (Number(m[2]) > 65535) ctx.addIssue({ code: "custom", message: `port ${m[2]} out of range` });
});

/** A section: strict (unknown keys are errors) and defaulted as a whole from its own field defaults. */
export const section = <T extends z.ZodRawShape>(shape: T) => z.strictObject(shape).prefault({} as z.input<z.ZodObject<T, z.core.$strict>>);
