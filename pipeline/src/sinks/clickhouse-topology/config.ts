import { z } from "zod";
import { TOPICS } from "@skystream/schemas";
import { duration } from "@skystream/common";

export const clickhouseTopologyConfig = z
  .strictObject({
    /** Topic of TopologyDeltas to consume. */
    topic: z.string().min(1).default(TOPICS.topology),
    /** Rows (revisions) buffered before they are written. */
    batch_size: z.number().int().min(1).max(1_000_000).default(50_000),
    /** Longest a change waits before it is written (how far history lags behind the network). */
    flush_interval: duration("1s"),
    /** An origin silent this long (no delta, no heartbeat) is retired: its elements get DeletedAt. */
    retire_after: duration("60s"),
  })
  .prefault({});

export type ClickhouseTopologyConfig = z.output<typeof clickhouseTopologyConfig>;
