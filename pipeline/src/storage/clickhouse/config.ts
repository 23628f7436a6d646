import { z } from "zod";
import { duration, section, tlsClientConfig } from "@skystream/common";

export const clickhouseConfig = section({
  /** Server URL (http://host:8123). Empty: the embedded engine (chDB) on data_path. */
  url: z.string().default(""),
  /** Data directory of the embedded engine; one process owns it at a time. */
  data_path: z.string().default(".data/clickhouse"),
  /** Database holding Skystream's tables. */
  database: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: "expected an identifier" })
    .default("skystream"),
  username: z.string().default("default"),
  password: z.string().default(""),
  /** How long flow rows are kept. */
  flows_ttl: duration("15d"),
  /** Cluster name for ON CLUSTER DDL; empty on a single server or chDB. */
  cluster: z
    .string()
    .regex(/^([A-Za-z_][A-Za-z0-9_]*)?$/, { message: "expected a cluster name (an identifier)" })
    .default(""),
  /** Per-request timeout against a server. */
  request_timeout: duration("60s"),
  /** TLS to the server (an https:// url), with a client certificate for mutual TLS. */
  tls: tlsClientConfig,
});

export type ClickhouseConfig = z.output<typeof clickhouseConfig>;
