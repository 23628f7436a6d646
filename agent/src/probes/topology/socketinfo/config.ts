import { z } from "zod";
import { duration } from "@skystream/common";

export const socketinfoConfig = z
  .strictObject({
    /** How often sockets are read. */
    interval: duration("500ms"),
    /** Where named network namespaces are mounted. */
    run_path: z.string().default("/run/netns"),
  })
  .prefault({});

export type SocketinfoConfig = z.output<typeof socketinfoConfig>;
