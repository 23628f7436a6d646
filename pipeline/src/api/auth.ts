// Authentication and authorization of the query API. Users and bcrypt password hashes come from an
// htpasswd file (`htpasswd -B`); POST /login exchanges them for a signed token that expires (never
// Skydive's base64 of user:password). Every other route needs the token — `Authorization: Bearer`,
// `X-Auth-Token`, the `authtoken` cookie, or the `x-auth-token` query parameter (browsers' WebSockets) —
// and casbin decides what its role may do, with Skydive's admin/guest defaults: admin everything, guest
// reads and never writes. Off only where nobody else can reach the API (loopback) and no users are set.
import { readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import bcrypt from "bcryptjs";
import { newEnforcer, newModelFromString, StringAdapter, type Enforcer } from "casbin";
import { SkystreamError } from "@skystream/common";
import type { ApiConfig } from "./config.js";

/** What a route protects: an object of the policy and the action on it. */
export interface Permission {
  object: string;
  action: "read" | "write";
}

const MODEL = `
[request_definition]
r = sub, obj, act
[policy_definition]
p = sub, obj, act, eft
[role_definition]
g = _, _
[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))
[matchers]
m = g(r.sub, p.sub) && (p.obj == "*" || r.obj == p.obj) && (p.act == "*" || r.act == p.act)
`;

/** Skydive's defaults, as this API's objects: admin does everything, guest reads everything. */
export const DEFAULT_POLICY = ["p, admin, *, *, allow", "p, guest, *, read, allow"];
export const OBJECTS = ["topology", "flowmatrix", "capture", "alert", "status", "websocket"] as const;

/** An htpasswd file's bcrypt entries (user:$2y$…); other hash kinds are refused at start. */
export function readHtpasswd(path: string): Map<string, string> {
  const users = new Map<string, string>();
  for (const [i, raw] of readFileSync(path, "utf8").split("\n").entries()) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const at = line.indexOf(":");
    const user = line.slice(0, at);
    const hash = line.slice(at + 1);
    if (at <= 0 || !/^\$2[aby]\$\d\d\$/.test(hash))
      throw new SkystreamError("SKY_ERR_AUTH_CONFIG", `${path}:${i + 1}: expected user:<bcrypt hash> (htpasswd -B), got "${line.slice(0, 40)}"`);
    users.set(user, hash);
  }
  return users;
}

export class Auth {
  readonly enabled: boolean;
  readonly secret: string;
  private readonly users: Map<string, string>;
  private enforcer?: Enforcer;

  constructor(private readonly cfg: ApiConfig) {
    const a = cfg.auth;
    const loopback = /^(127\.|localhost:|\[::1\]:|::1:)/.test(cfg.listen);
    this.users = a.htpasswd ? readHtpasswd(a.htpasswd) : new Map();
    this.enabled = a.enabled === "auto" ? !(loopback && this.users.size === 0) : a.enabled === "on";
    if (this.enabled && this.users.size === 0)
      throw new SkystreamError("SKY_ERR_AUTH_CONFIG", `api.auth is on (the API listens on ${cfg.listen}) but api.auth.htpasswd names no users`);
    // Without a configured secret, tokens are signed with one of this process's: they end with it.
    this.secret = a.token_secret || randomBytes(32).toString("hex");
  }

  async start(): Promise<void> {
    const roles = Object.entries(this.cfg.auth.roles).map(([user, role]) => `g, ${user}, ${role}`);
    const policy = [...DEFAULT_POLICY, ...this.cfg.auth.policy, ...roles].join("\n");
    this.enforcer = await newEnforcer(newModelFromString(MODEL), new StringAdapter(policy));
  }

  /** The role of a user who proved their password, or undefined. */
  async login(user: string, password: string): Promise<string | undefined> {
    const hash = this.users.get(user);
    // Compare anyway for an unknown user: the answer takes the same time.
    const ok = await bcrypt.compare(password, hash ?? "$2b$10$0000000000000000000000000000000000000000000000000000.");
    return ok && hash ? (this.cfg.auth.roles[user] ?? this.cfg.auth.default_role) : undefined;
  }

  async allowed(role: string, p: Permission): Promise<boolean> {
    return this.enforcer!.enforce(role, p.object, p.action);
  }

  /** Every object and action, allowed or not, for a role (what /login returns for a UI to use). */
  async permissions(role: string): Promise<{ Object: string; Action: string; Allowed: boolean }[]> {
    const out: { Object: string; Action: string; Allowed: boolean }[] = [];
    for (const o of OBJECTS)
      for (const a of ["read", "write"] as const) out.push({ Object: o, Action: a, Allowed: await this.allowed(role, { object: o, action: a }) });
    return out;
  }
}
