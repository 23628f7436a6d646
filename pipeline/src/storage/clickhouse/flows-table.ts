// How FlowRecords (Avro) become rows of {db}.flows: ClickHouse parses the Avro itself with the SQL of
// flows_insert.sql. The insert is compiled per writer schema: ClickHouse reads a nested record only into
// a tuple of exactly its fields, so the structure mirrors the writer's schema, and a field the SQL reads
// that this writer version does not have (an older producer) becomes its default.
import { readFileSync } from "node:fs";
import type avro from "avsc";
import { FLOW_RECORD, builtinCatalog } from "@skystream/schemas";
import type { AvroInsert } from "./storage.js";

const INSERT_SQL = readFileSync(new URL("./sql/flows_insert.sql", import.meta.url), "utf8")
  .replace(/^\s*--.*$/gm, "")
  .trim();

type AvroType = avro.Schema;
interface AvroField {
  name: string;
  type: AvroType;
}

/** ClickHouse type reading an Avro type (nullable unions read as their branch: null becomes its default). */
function chType(t: AvroType, named: Map<string, AvroType>): string {
  if (typeof t === "string") {
    const ref = named.get(t) ?? named.get(t.split(".").pop()!);
    if (ref) return chType(ref, named);
    const prim: Record<string, string> = {
      string: "String",
      bytes: "String",
      long: "Int64",
      int: "Int32",
      boolean: "Bool",
      double: "Float64",
      float: "Float32",
    };
    if (prim[t]) return prim[t];
    throw new Error(`unsupported Avro type ${t}`);
  }
  if (Array.isArray(t)) {
    const branches = t.filter((b) => b !== "null");
    if (branches.length !== 1) throw new Error(`unsupported union ${JSON.stringify(t)}`);
    return chType(branches[0]!, named);
  }
  const o = t as { type: string; name?: string; fields?: AvroField[]; items?: AvroType; values?: AvroType; size?: number; symbols?: string[] };
  switch (o.type) {
    case "record":
      if (o.name) named.set(o.name, t);
      return `Tuple(${o.fields!.map((f) => `${f.name} ${chType(f.type, named)}`).join(", ")})`;
    case "enum":
      if (o.name) named.set(o.name, t);
      return "String";
    case "array":
      return `Array(${chType(o.items!, named)})`;
    case "map":
      return `Map(String, ${chType(o.values!, named)})`;
    case "fixed":
      if (o.name) named.set(o.name, t);
      return `FixedString(${o.size})`;
    default:
      return chType(o.type as AvroType, named);
  }
}

/** Field paths (Enrichment.A.Process.Pid) of a schema's records, with the ClickHouse type of each leaf. */
function leafPaths(t: AvroType, named: Map<string, AvroType>, prefix: string, out: Map<string, string>): void {
  if (typeof t === "string" && named.has(t)) return leafPaths(named.get(t)!, named, prefix, out);
  if (Array.isArray(t))
    return leafPaths(
      t.find((b) => b !== "null")!,
      named,
      prefix,
      out,
    );
  const o = t as { type?: string; name?: string; fields?: AvroField[] };
  if (typeof t === "object" && o.type === "record") {
    if (o.name) named.set(o.name, t);
    for (const f of o.fields!) leafPaths(f.type, named, prefix ? `${prefix}.${f.name}` : f.name, out);
    return;
  }
  out.set(prefix, chType(t, named));
}

/** Leaf paths of the newest FlowRecord: the type of a field an older writer lacks. */
const NEWEST = (() => {
  const newest = builtinCatalog()
    .filter((e) => e.name === FLOW_RECORD)
    .sort((a, b) => b.version - a.version)[0]!.schema;
  const leaves = new Map<string, string>();
  leafPaths(newest, new Map(), "", leaves);
  return { leaves, topLevel: new Set((newest as { fields: AvroField[] }).fields.map((f) => f.name)) };
})();

const compiled = new WeakMap<object, { sql: string; structure: string }>();

/** The INSERT ... SELECT and the Avro structure for payloads written with `writer` (a FlowRecord schema). */
export function compileFlowsInsert(writer: avro.Schema): { sql: string; structure: string } {
  let c = compiled.get(writer as object);
  if (c) return c;
  const named = new Map<string, AvroType>();
  const structure = (writer as { fields: AvroField[] }).fields.map((f) => `${f.name} ${chType(f.type, named)}`).join(", ");
  const leaves = new Map<string, string>();
  leafPaths(writer, new Map(), "", leaves);
  // Dotted paths into records (Link.A, Enrichment.A.Process.Pid): one the writer lacks reads as the default
  // of its type in the newest schema.
  const sql = INSERT_SQL.replace(/(?<![\w".])([A-Z][A-Za-z0-9]*)((?:\.[A-Za-z][A-Za-z0-9]*)+)(?![\w"(])/g, (path: string, head: string) => {
    if (!NEWEST.topLevel.has(head) || leaves.has(path)) return path;
    const type = NEWEST.leaves.get(path);
    return type ? `defaultValueOfTypeName('${type}')` : path;
  });
  c = { sql, structure };
  compiled.set(writer as object, c);
  return c;
}

/**
 * The insert of one writer schema's containers into `flows` or, on a cluster, into `flows_all` in the
 * foreground (each shard's part lands, with the deduplication token, before the insert returns).
 */
export function flowsInsert(where: { database: string; cluster?: string }, writer: avro.Schema, containers: Buffer[], dedupToken?: string): AvroInsert {
  const { sql, structure } = compileFlowsInsert(writer);
  const table = where.cluster ? `${where.database}.flows_all` : `${where.database}.flows`;
  return {
    insertSelect: sql.replace("{db}.flows", table),
    structure,
    containers,
    settings: {
      input_format_avro_allow_missing_fields: 1,
      ...(where.cluster ? { distributed_foreground_insert: 1 } : {}),
      ...(dedupToken ? { insert_deduplication_token: dedupToken } : {}),
    },
  };
}
