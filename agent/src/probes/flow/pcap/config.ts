import { z } from "zod";

export const captureConfig = z.strictObject({
  /** Interface to capture on. */
  interface: z.string().min(1),
  /** Its network namespace: a name under /run/netns or a path such as /proc/<pid>/ns/net; empty for the host's. */
  netns: z.string().default(""),
  /** BPF filter (libpcap syntax). */
  filter: z.string().default(""),
  /** Bytes of each packet decoded (Skydive's default header size is 256; 14..65535). */
  snaplen: z.number().int().min(14).max(65535).default(256),
  /** Kernel capture buffer in bytes. */
  buffer_size: z
    .number()
    .int()
    .min(65536)
    .default(8 << 20),
  /** NodeTID stamped on the flows; by default the interface's node in the agent's graph. */
  node_tid: z.string().default(""),
  /** Capture id stamped on the flows (set by captures on demand). */
  capture_id: z.string().default(""),
  /** How often the flow table is advanced and its flows handed to the publisher. */
  flush_interval: z.number().int().min(10).default(1000),
});

export type CaptureConfig = z.output<typeof captureConfig>;
