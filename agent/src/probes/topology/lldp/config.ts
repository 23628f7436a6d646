import { z } from "zod";
import { duration } from "@skystream/common";

export const lldpConfig = z
  .strictObject({
    /** lldpd instances to read: the control socket, and the network namespace it runs in ("" = the host's). */
    instances: z.array(z.strictObject({ socket: z.string().min(1), netns: z.string().default("") })).default([{ socket: "/run/lldpd.socket", netns: "" }]),
    /** How often neighbours are read. */
    interval: duration("1s"),
  })
  .prefault({});

export type LldpConfig = z.output<typeof lldpConfig>;
