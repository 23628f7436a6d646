// How FlowRecords (Avro) become rows of {db}.flows.
import { readFileSync } from "node:fs";
import type { AvroInsert } from "./storage.js";

const read = (name: string) => readFileSync(new URL(`./sql/${name}`, import.meta.url), "utf8");
const INSERT_SQL = read("flows_insert.sql")
  .replace(/^\s*--.*$/gm, "")
  .trim();
const STRUCTURE = read("flows_avro_structure.txt").replace(/\s+/g, " ").trim();

export function flowsInsert(database: string, containers: Buffer[], dedupToken?: string): AvroInsert {
  return {
    insertSelect: INSERT_SQL.replace("{db}", database),
    structure: STRUCTURE,
    containers,
    settings: {
      input_format_avro_allow_missing_fields: 1,
      ...(dedupToken ? { insert_deduplication_token: dedupToken } : {}),
    },
  };
}
