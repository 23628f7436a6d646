import { z } from "zod";
import { TOPICS } from "@skystream/schemas";
import { duration } from "@skystream/common";

export const clickhouseFlowsConfig = z
  .strictObject({
    /** Topic of FlowRecords to consume. */
    topic: z.string().min(1).default(TOPICS.flows),
    /** Rows per insert: ClickHouse wants few large inserts (10k-100k rows). */
    batch_size: z.number().int().min(1).max(1_000_000).default(50_000),
    /** Longest a row waits before its batch is inserted. */
    batch_timeout: duration("5s"),
    /** Avro files per insert, parsed in parallel by the engine (about its cores). */
    parse_parallelism: z.number().int().min(1).max(64).default(2),
    /** Most rows buffered before consumption pauses for the insert. */
    max_buffered_rows: z.number().int().min(1).default(200_000),
  })
  .prefault({});

export type ClickhouseFlowsConfig = z.output<typeof clickhouseFlowsConfig>;
