// Confluent-compatible Schema Registry: config, client, and a process's registration and lookups.
import type { AvroCodec } from "@skystream/schemas";
import type { SchemaRegistryConfig } from "./config.js";
import { SchemaRegistry, type RegistryWrite, type SchemaRegistryDeps } from "./registry.js";

export * from "./config.js";
export * from "./client.js";
export * from "./registry.js";

/**
 * With schema_registry.url, makes `codec` use the registry: what the process writes is registered now
 * (see SchemaRegistry.start) and ids it reads are looked up there. Without a url, nothing: pinned ids.
 * Close the registry first when stopping, so that lookups waiting for it give up.
 */
export async function startSchemaRegistry(
  cfg: SchemaRegistryConfig,
  codec: AvroCodec,
  writes: RegistryWrite[],
  deps: SchemaRegistryDeps,
): Promise<SchemaRegistry | undefined> {
  if (!cfg.url) return undefined;
  const registry = new SchemaRegistry(cfg, codec, deps);
  try {
    await registry.start(writes);
  } catch (err) {
    registry.close();
    throw err;
  }
  return registry;
}
