// Loads one config: YAML file, then SKYSTREAM_* overrides, then validation of the whole tree.
// Every problem is reported at once with its key path, the value found and what was expected.
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import { SkystreamError } from "../errors.js";
import { applyEnvOverrides } from "./env.js";

export class ConfigError extends SkystreamError {
  constructor(readonly problems: string[]) {
    super("SKY_ERR_CONFIG_INVALID", `invalid configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n  ${problems.join("\n  ")}`);
    this.name = "ConfigError";
  }
}

export interface LoadOptions {
  /** YAML file path; none means defaults plus environment. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Values applied over the file, before the environment (CLI flags). */
  overrides?: Record<string, unknown>;
}

function valueAt(root: unknown, path: PropertyKey[]): unknown {
  let v = root;
  for (const k of path) {
    if (typeof v !== "object" || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

function formatPath(path: PropertyKey[]): string {
  return path.map((k, i) => (typeof k === "number" ? `[${k}]` : i === 0 ? String(k) : `.${String(k)}`)).join("") || "(root)";
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] =
      typeof v === "object" && v !== null && !Array.isArray(v) && typeof b === "object" && b !== null && !Array.isArray(b)
        ? deepMerge(b as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

export function loadConfig<S extends z.ZodType>(schema: S, opts: LoadOptions = {}): z.output<S> {
  const env = opts.env ?? process.env;
  let raw: Record<string, unknown> = {};
  const file = opts.file ?? env.SKYSTREAM_CONFIG;
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      throw new SkystreamError("SKY_ERR_CONFIG_READ", `cannot read config file ${file}: ${(err as Error).message}`, { cause: err });
    }
    let doc: unknown;
    try {
      doc = parseYaml(text);
    } catch (err) {
      throw new ConfigError([`${file}: not valid YAML: ${(err as Error).message.split("\n")[0]}`]);
    }
    if (doc !== null && doc !== undefined) {
      if (typeof doc !== "object" || Array.isArray(doc)) throw new ConfigError([`${file}: expected a mapping at the top level`]);
      raw = doc as Record<string, unknown>;
    }
  }
  if (opts.overrides) raw = deepMerge(raw, opts.overrides);
  const problems = applyEnvOverrides(schema, raw, env).map((p) => `${p.variable}: ${p.message}`);
  const result = schema.safeParse(raw);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const got = valueAt(raw, issue.path);
      const gotText = got === undefined ? "" : `, got ${JSON.stringify(got)}`;
      const msg =
        issue.code === "unrecognized_keys"
          ? `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}`
          : issue.message;
      const already = msg.includes(", got ") || issue.code === "unrecognized_keys";
      problems.push(`${formatPath(issue.path)}: ${msg}${already ? "" : gotText}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return (result as { data: z.output<S> }).data;
}
