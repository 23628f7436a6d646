import { z } from "zod";
import { duration, section } from "@skystream/common";

export const apiConfig = section({
  /** host:port of the REST API, its OpenAPI document and the WebSocket endpoints. */
  listen: z.string().default("127.0.0.1:8082"),
  /** Largest request body accepted (bytes). */
  body_limit: z.number().int().min(1024).default(1_048_576),
  /** Time budget of one Gremlin query. */
  query_timeout: duration("5s"),
  /** Most elements any step of a query may produce (and so a result may hold). */
  max_items: z.number().int().min(1).default(200_000),
  /** Live Flows() are the flows seen this recently (the agents' flow.expire). */
  flow_expire: duration("10m"),
  /** Evaluate alerts in this process (one API process of a deployment should). */
  alerts: z.boolean().default(true),
  /** How much recent topology history the API keeps in memory (older times are read from ClickHouse). */
  window: duration("15m"),
});

export type ApiConfig = z.output<typeof apiConfig>;
