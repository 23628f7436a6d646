// TLS toward a server Skystream connects to (Kafka brokers, ClickHouse): one config shape and one reader
// of its PEM files, so both clients are set up alike and a missing file is a clear error at start.
import { readFileSync } from "node:fs";
import type { ConnectionOptions } from "node:tls";
import { z } from "zod";
import { section } from "./config/types.js";
import { SkystreamError } from "./errors.js";

export const tlsClientConfig = section({
  /** Connect with TLS. */
  enabled: z.boolean().default(false),
  /** PEM file of the CA(s) that signed the server's certificate; empty: the system's CAs. */
  ca: z.string().default(""),
  /** PEM certificate and key of this client, for servers that require one (mutual TLS). */
  cert: z.string().default(""),
  key: z.string().default(""),
  /** Name the server's certificate must carry, when not the host connected to. */
  server_name: z.string().default(""),
  /** Check the server's certificate (turn off only to try things out). */
  verify: z.boolean().default(true),
}).refine((t) => Boolean(t.cert) === Boolean(t.key), { message: "cert and key go together (mutual TLS needs both)" });

export type TlsClientConfig = z.output<typeof tlsClientConfig>;

export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** The PEM files of a TLS config, read now; a file that cannot be read is an error naming the setting. */
export function readTlsFiles(cfg: TlsClientConfig, where: string): TlsMaterial {
  const read = (name: "ca" | "cert" | "key") => {
    const path = cfg[name];
    if (!path) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new SkystreamError("SKY_ERR_TLS_FILE", `${where}.tls.${name}: cannot read ${path}: ${(err as Error).message}`);
    }
  };
  return { ca: read("ca"), cert: read("cert"), key: read("key") };
}

/** Node's TLS options (tls.connect, https.Agent) from the config: CA, client certificate, name, checks. */
export function tlsConnectOptions(cfg: TlsClientConfig, where: string): ConnectionOptions {
  const { ca, cert, key } = readTlsFiles(cfg, where);
  return {
    ...(ca ? { ca } : {}),
    ...(cert && key ? { cert, key } : {}),
    ...(cfg.server_name ? { servername: cfg.server_name } : {}),
    rejectUnauthorized: cfg.verify,
  };
}
