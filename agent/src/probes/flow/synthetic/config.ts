import { z } from "zod";

export const syntheticConfig = z
  .strictObject({
    /** Flow updates per second; 0 means as fast as the publisher accepts them. */
    rate: z.number().min(0).default(1000),
    /** Distinct conversations the updates cycle through. */
    conversations: z.number().int().min(1).default(50_000),
    /** Stop after this many updates; 0 runs until the agent stops. */
    count: z.number().int().min(0).default(0),
    /** Updates handed to the publisher at once. */
    chunk: z.number().int().min(1).max(100_000).default(1000),
  })
  .prefault({});

export type SyntheticConfig = z.output<typeof syntheticConfig>;
