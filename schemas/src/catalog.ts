// The schema catalog: every published Avro schema version with its pinned Confluent id.
// The .avsc files under schemas/avro are the public contract; this module only loads them.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import avro from "avsc";

export const AVRO_DIR = fileURLToPath(new URL("../avro/", import.meta.url));

export interface SchemaEntry {
  /** Confluent schema id, pinned: it is what the 5-byte frame carries. */
  id: number;
  /** Avro full name, e.g. skystream.flow.FlowRecord. */
  name: string;
  /** Version of that record's schema, 1, 2, ... */
  version: number;
  /** The schema as JSON (what goes into Avro container headers and a registry). */
  schema: avro.Schema;
  /** The compiled avsc type. */
  type: avro.Type;
}

interface CatalogFile {
  schemas: { id: number; name: string; version: number; file: string }[];
}

export function loadSchema(file: string): avro.Schema {
  return JSON.parse(readFileSync(new URL(file, `file://${AVRO_DIR}`), "utf8")) as avro.Schema;
}

export function compile(schema: avro.Schema): avro.Type {
  // wrapUnions false: a ["null", record] union takes the record or null directly.
  return avro.Type.forSchema(schema, { wrapUnions: false });
}

export function entry(id: number, schema: avro.Schema, version: number): SchemaEntry {
  const type = compile(schema);
  if (!type.name) throw new Error(`schema ${id} has no name`);
  return { id, name: type.name, version, schema, type };
}

/** The catalog shipped with Skystream (schemas/avro/catalog.json). */
export function builtinCatalog(): SchemaEntry[] {
  const file = JSON.parse(readFileSync(`${AVRO_DIR}catalog.json`, "utf8")) as CatalogFile;
  return file.schemas.map((s) => {
    const e = entry(s.id, loadSchema(s.file), s.version);
    if (e.name !== s.name) throw new Error(`catalog.json names ${s.name} but ${s.file} defines ${e.name}`);
    return e;
  });
}

export const FLOW_RECORD = "skystream.flow.FlowRecord";
export const TOPOLOGY_DELTA = "skystream.topology.TopologyDelta";
export const CONTROL_MESSAGE = "skystream.control.ControlMessage";
