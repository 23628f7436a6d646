// For tests: a fresh embedded ClickHouse with Skystream's schema, and flows inserted as the sink inserts
// them (Avro object containers parsed by the engine).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { AvroCodec, FLOW_RECORD, FRAME_HEADER_SIZE, buildContainer, type FlowRecord } from "@skystream/schemas";
import { clickhouseConfig, flowsInsert, migrate, openStorage } from "./index.js";

const log = pino({ level: "warn" });

/** A fresh embedded ClickHouse with the schema, and a way to insert flows as the sink does. */
export async function flowStorage(t: { after(fn: () => unknown): void }, database: string) {
  const cfg = clickhouseConfig.parse({ data_path: mkdtempSync(join(tmpdir(), `skystream-${database}-`)), database });
  const storage = await openStorage(cfg, log);
  t.after(() => storage.close());
  await migrate(storage, cfg, log);
  const codec = new AvroCodec();
  const schema = codec.writerFor(FLOW_RECORD).schema;
  const insert = (flows: FlowRecord[]) =>
    storage.insertAvro(
      flowsInsert(cfg, schema, [
        buildContainer(
          schema,
          flows.map((f) => codec.encode(FLOW_RECORD, f).subarray(FRAME_HEADER_SIZE)),
        ),
      ]),
    );
  return { storage, insert };
}
