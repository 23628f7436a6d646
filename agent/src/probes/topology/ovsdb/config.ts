import { z } from "zod";

export const ovsdbConfig = z
  .strictObject({
    /** ovsdb-server address: a unix socket path (unix:/path or /path) or tcp:host:port. */
    address: z.string().default("unix:/var/run/openvswitch/db.sock"),
  })
  .prefault({});

export type OvsdbConfig = z.output<typeof ovsdbConfig>;
