import { z } from "zod";
import { duration } from "@skystream/common";

export const netlinkConfig = z
  .strictObject({
    /** Where named network namespaces are mounted (ip netns). */
    run_path: z.string().default("/run/netns"),
    /** How long to gather kernel events before re-reading a namespace. */
    debounce: duration("30ms"),
    /** How often anonymous namespaces (held only by processes, e.g. containers) are looked for; 0 disables them. */
    anonymous_interval: duration("5s"),
    /** How often interface counters are read into Metric / LastUpdateMetric; 0 disables. */
    metrics_interval: duration("30s"),
  })
  .prefault({});

export type NetlinkConfig = z.output<typeof netlinkConfig>;
