import { z } from "zod";
import { hostPort } from "@skystream/common";

export const sflowConfig = z
  .strictObject({
    /** UDP address the collector listens on (host:port); sFlow's port is 6343. */
    listen: hostPort.default("0.0.0.0:6343"),
    /** Socket receive buffer in bytes (bursts of datagrams wait there); the kernel caps it at net.core.rmem_max. */
    receive_buffer: z
      .number()
      .int()
      .min(65536)
      .default(64 << 20),
    /** How often flow tables are advanced and their flows handed to the publisher. */
    flush_interval: z.number().int().min(10).default(1000),
    /** Capture id stamped on the flows (set by captures on demand). */
    capture_id: z.string().default(""),
    /** NodeTID stamped on every flow (a capture on an OVS bridge); by default the sampled input port's node. */
    node_tid: z.string().default(""),
  })
  .prefault({});

export type SflowConfig = z.output<typeof sflowConfig>;
