// X-Resource-TTL, as Skydive's API took it on every resource: a Go duration after which the resource
// is deleted by itself.
import { goDuration } from "../../gremlin/time.js";

/** The header's schema, for a route's `headers`. */
export const resourceTtlHeaders = { type: "object", properties: { "x-resource-ttl": { type: "string", maxLength: 32 } } } as const;

/** The TTL in whole ms (0 without the header), or the 400 message for a header that is not a duration. */
export function resourceTtl(header: string | undefined): { ms: number } | { error: string } {
  const ms = header === undefined ? 0 : goDuration(header);
  if (ms === undefined || ms < 0) return { error: `X-Resource-TTL: expected a duration such as 30s or 10m, got "${header}"` };
  return { ms: Math.round(ms) };
}
