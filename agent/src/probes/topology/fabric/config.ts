import { z } from "zod";
import { parseFabric } from "./parse.js";

export const fabricConfig = z
  .strictObject({
    /** Links in Skydive's fabric syntax, e.g. "TOR1[Name=tor1] -> TOR1_PORT1[Name=port1, MTU=1500]". */
    links: z
      .array(z.string())
      .default([])
      .superRefine((lines, ctx) => {
        try {
          parseFabric(lines);
        } catch (err) {
          ctx.addIssue({ code: "custom", message: (err as Error).message });
        }
      }),
  })
  .prefault({});

export type FabricConfig = z.output<typeof fabricConfig>;
