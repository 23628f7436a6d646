import { z } from "zod";
import { duration, section, tlsClientConfig } from "@skystream/common";

/** Subject compatibility levels of the Confluent API. */
export const COMPATIBILITY_LEVELS = ["NONE", "BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"] as const;

export const schemaRegistryConfig = section({
  /**
   * Confluent-compatible Schema Registry (http://registry:8081; Apicurio: http://host:8080/apis/ccompat/v7).
   * Empty: no registry, records carry the pinned ids of schemas/avro/catalog.json.
   */
  url: z
    .string()
    .default("")
    .refine((u) => u === "" || /^https?:\/\/[^/\s]+/.test(u), { message: "expected an http:// or https:// URL" }),
  /** Basic auth (Confluent's USER_INFO); empty: none. */
  username: z.string().default(""),
  password: z.string().default(""),
  /** TLS to an https:// registry: CA, client certificate for mutual TLS. */
  tls: tlsClientConfig,
  /** Time budget of one request to the registry. */
  timeout: duration("10s"),
  /**
   * Compatibility set on every subject this process registers, before its newer versions are: our
   * versions only add fields with defaults or widen unions and enums, so the newest reads every older one.
   * Empty: leave the subjects' settings alone.
   */
  compatibility: z.enum([...COMPATIBILITY_LEVELS, ""]).default("BACKWARD_TRANSITIVE"),
  /**
   * When the registry cannot be reached at start: false, records wait until their schemas are registered
   * (retried with backoff); true, publish with the pinned ids meanwhile (readable by Skystream, not by
   * consumers that know only the registry) and switch to the registry's ids once registered.
   */
  pinned_fallback: z.boolean().default(false),
}).refine((c) => !c.tls.enabled || c.url.startsWith("https://"), { message: "tls.enabled needs an https:// url", path: ["tls", "enabled"] });

export type SchemaRegistryConfig = z.output<typeof schemaRegistryConfig>;
