// The flow table's config (agent.flow.table), shared by every packet source: capture, pcap replay, sFlow.
import { z } from "zod";
import { duration, section } from "@skystream/common";

const portNames = z
  .record(z.string().regex(/^\d{1,5}$/, "a port number"), z.string().min(1))
  .default({})
  .transform((m) => new Map(Object.entries(m).map(([port, name]) => [Number(port), name.toUpperCase()])));

export const flowTableConfig = section({
  /** L2: flows keyed by MACs, IPs and ports (Skydive's default); L3: by IPs and ports, MACs only when there is no IP. */
  layer_key_mode: z.enum(["L2", "L3"]).default("L2"),
  /** Flows that saw packets are emitted every `update` with their metrics of that period (LastUpdateMetric). */
  update: duration("60s"),
  /** A flow without packets for `expire` is emitted one last time (FinishType TIMEOUT) and forgotten. */
  expire: duration("600s"),
  /** Most flows held; beyond it the least recently seen one is emitted and evicted. */
  max_entries: z.number().int().min(1).default(500_000),
  /** Fill TCPMetric (SYN/FIN/RST times and SYN TTLs per direction). */
  extra_tcp_metric: z.boolean().default(false),
  /** Application names by port, e.g. { tcp: { "443": "HTTPS" } }; they override the decoded layer's name. */
  application_ports: section({ tcp: portNames, udp: portNames }),
  /** Earlier expiry per Application (lower case), e.g. ARP and DNS exchanges are over in seconds. */
  application_timeout: z.record(z.string(), duration("10s")).prefault({ arp: "10s", dns: "10s" }),
  /** How long a TCP flow that saw FIN or RST is kept (late packets still count) before its last emission. */
  finished_hold: duration("15s"),
});

export type FlowTableConfig = z.output<typeof flowTableConfig>;
