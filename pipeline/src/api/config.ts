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
  /** Who may use the API, and what they may do (see README, Query API: auth). */
  auth: section({
    /** auto: on unless the API listens on loopback only and no users are set. */
    enabled: z.enum(["auto", "on", "off"]).default("auto"),
    /** htpasswd file with bcrypt hashes (htpasswd -B -c FILE USER). */
    htpasswd: z.string().default(""),
    /** Role per user (casbin subjects); users not listed get default_role. */
    roles: z.record(z.string(), z.string()).default({}),
    default_role: z.string().default("guest"),
    /** Extra casbin policy lines ("p, ops, capture, write, allow"), after the admin/guest defaults. */
    policy: z.array(z.string()).default([]),
    /** Key tokens are signed with (HS256); empty: a random one per process (tokens end with it). */
    token_secret: z.string().default(""),
    token_ttl: duration("12h"),
  }),
  /** HTTPS (and WSS): certificate and key files; with client_ca, clients must present a certificate it signed. */
  tls: section({
    cert: z.string().default(""),
    key: z.string().default(""),
    client_ca: z.string().default(""),
  }),
  /**
   * Web origins whose pages may call the API from the browser (CORS): a Grafana showing the Skystream
   * panel with data from the API, say ["https://grafana.example.com"]; "*" for any. Empty: none.
   */
  cors_origins: z.array(z.string()).default([]),
  /** Evaluate alerts in this process (one API process of a deployment should). */
  alerts: z.boolean().default(true),
  /** Serve /api/node, /api/edge, /api/noderule, /api/edgerule and publish what they make (one API process of a deployment should). */
  topology_manager: z.boolean().default(true),
  /** How often the topology manager says its origin (api.<host>) is alive. */
  heartbeat: duration("2s"),
  /** The web UI's built files (index.html and assets/) served at /; empty: the UI built beside this code (ui/dist), when it is there. */
  ui_dir: z.string().default(""),
  /** How much recent topology history the API keeps in memory (older times are read from ClickHouse). */
  window: duration("15m"),
});

export type ApiConfig = z.output<typeof apiConfig>;
