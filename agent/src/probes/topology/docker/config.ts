import { z } from "zod";
import { duration } from "@skystream/common";

export const dockerConfig = z
  .strictObject({
    /** Docker Engine API socket (podman's `podman system service` serves the same API). */
    socket: z.string().default("/var/run/docker.sock"),
    /** Full re-read period, besides the event stream. */
    interval: duration("5s"),
    /** Where named network namespaces are mounted (to find a container's namespace node). */
    run_path: z.string().default("/run/netns"),
  })
  .prefault({});

export type DockerConfig = z.output<typeof dockerConfig>;
