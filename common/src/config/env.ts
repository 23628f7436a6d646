// SKYSTREAM_* environment overrides, resolved against the config schema so that keys containing
// underscores (batch_size) and nested sections (kafka.producer.batch_size) map unambiguously:
// SKYSTREAM_KAFKA_PRODUCER_BATCH_SIZE=5000. Arrays are space-separated, dicts and objects are JSON.
import type { z } from "zod";

export const ENV_PREFIX = "SKYSTREAM_";
/** Variables with the prefix that are not config keys. */
const RESERVED = new Set(["SKYSTREAM_CONFIG"]);

type Kind = "object" | "record" | "array" | "number" | "boolean" | "string" | "other";

interface Def {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  options?: z.ZodType[];
  shape?: Record<string, z.ZodType>;
}

function defOf(s: z.ZodType): Def {
  return (s as unknown as { _zod: { def: Def } })._zod.def;
}

/** Strips default/optional/pipe wrappers down to the schema that says what the value is. */
function core(s: z.ZodType): z.ZodType {
  for (;;) {
    const d = defOf(s);
    if (d.innerType && ["default", "prefault", "optional", "nullable", "readonly", "catch"].includes(d.type)) s = d.innerType;
    else if (d.type === "pipe" && d.in) s = d.in;
    else return s;
  }
}

function kindOf(s: z.ZodType): Kind {
  const d = defOf(core(s));
  switch (d.type) {
    case "object":
      return "object";
    case "record":
      return "record";
    case "array":
      return "array";
    case "number":
    case "int":
      return "number";
    case "boolean":
      return "boolean";
    case "string":
    case "enum":
    case "literal":
      return "string";
    case "union":
      // duration and similar: string or number, taken as a string.
      return "string";
    default:
      return "other";
  }
}

function shapeOf(s: z.ZodType): Record<string, z.ZodType> | undefined {
  const c = core(s);
  const d = defOf(c);
  return d.type === "object" ? (c as unknown as { shape: Record<string, z.ZodType> }).shape : undefined;
}

/** Finds the key path a variable name names, or undefined. Longest key wins at each level. */
export function resolveEnvPath(schema: z.ZodType, tokens: string[]): { path: string[]; leaf: z.ZodType } | undefined {
  const path: string[] = [];
  let s = schema;
  let rest = tokens;
  while (rest.length > 0) {
    const shape = shapeOf(s);
    if (!shape) return undefined;
    let matched: string | undefined;
    for (let n = rest.length; n > 0 && !matched; n--) {
      const key = rest.slice(0, n).join("_");
      if (key in shape) matched = key;
    }
    if (!matched) return undefined;
    path.push(matched);
    s = shape[matched]!;
    rest = rest.slice(matched.split("_").length);
  }
  return { path, leaf: s };
}

/** The dict (record) key a too-long variable name reaches into, if any: "pipeline.sinks". */
function dictPrefix(schema: z.ZodType, tokens: string[]): string | undefined {
  for (let n = tokens.length - 1; n > 0; n--) {
    const found = resolveEnvPath(schema, tokens.slice(0, n));
    if (found) return kindOf(found.leaf) === "record" ? found.path.join(".") : undefined;
  }
  return undefined;
}

export interface EnvProblem {
  variable: string;
  message: string;
}

/** Parses a variable's text by the kind of its key. */
function parseValue(kind: Kind, raw: string): unknown {
  switch (kind) {
    case "array":
      return raw.split(/\s+/).filter((x) => x.length > 0);
    case "object":
    case "record":
      return JSON.parse(raw);
    case "number":
      return raw.trim() === "" || Number.isNaN(Number(raw)) ? raw : Number(raw);
    case "boolean":
      return raw === "true" || raw === "1" ? true : raw === "false" || raw === "0" ? false : raw;
    default:
      return raw;
  }
}

/** Applies SKYSTREAM_* variables onto `target` (the parsed YAML), returning what could not be applied. */
export function applyEnvOverrides(schema: z.ZodType, target: Record<string, unknown>, env: NodeJS.ProcessEnv): EnvProblem[] {
  const problems: EnvProblem[] = [];
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || RESERVED.has(name) || raw === undefined) continue;
    const tokens = name.slice(ENV_PREFIX.length).toLowerCase().split("_");
    const found = resolveEnvPath(schema, tokens);
    if (!found) {
      const dict = dictPrefix(schema, tokens);
      problems.push({
        variable: name,
        message: dict
          ? `names no configuration key; ${dict} is a dict: set ${ENV_PREFIX}${dict.toUpperCase().replace(/\./g, "_")} to its JSON`
          : "names no configuration key",
      });
      continue;
    }
    let value: unknown;
    try {
      value = parseValue(kindOf(found.leaf), raw);
    } catch (err) {
      problems.push({ variable: name, message: `expected JSON for ${found.path.join(".")}: ${(err as Error).message}` });
      continue;
    }
    let node = target;
    for (const key of found.path.slice(0, -1)) {
      const next = node[key];
      if (typeof next !== "object" || next === null || Array.isArray(next)) node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    node[found.path.at(-1)!] = value;
  }
  return problems;
}
