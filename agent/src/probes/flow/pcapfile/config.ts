import { z } from "zod";

export const pcapfileConfig = z.strictObject({
  /** The capture file (pcap or pcapng). */
  path: z.string().min(1),
  /** BPF filter applied to the file's packets (through tcpdump, which must then be installed). */
  filter: z.string().default(""),
  /** NodeTID stamped on the flows: the interface the file was captured on, when known. */
  node_tid: z.string().default(""),
});

export type PcapfileConfig = z.output<typeof pcapfileConfig>;
