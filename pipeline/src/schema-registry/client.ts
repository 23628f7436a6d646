// The part of the Confluent Schema Registry REST API Skystream uses (register under a subject, set a
// subject's compatibility, fetch a schema by id), over node:http/https so that the registry's TLS
// settings (CA, client certificate) apply the way they do for Kafka and ClickHouse.
import { request as httpRequest, Agent as HttpAgent, type IncomingMessage } from "node:http";
import { request as httpsRequest, Agent as HttpsAgent } from "node:https";
import { SkystreamError, tlsConnectOptions, errorMessage } from "@skystream/common";
import type { SchemaRegistryConfig } from "./config.js";

/** What failed, as a metric label: a bounded set. */
export type RegistryErrorType = "unreachable" | "auth" | "incompatible" | "invalid_schema" | "refused";

const CODES: Record<RegistryErrorType, string> = {
  unreachable: "SKY_ERR_SCHEMA_REGISTRY_UNREACHABLE",
  auth: "SKY_ERR_SCHEMA_REGISTRY_AUTH",
  incompatible: "SKY_ERR_SCHEMA_REGISTRY_INCOMPATIBLE",
  invalid_schema: "SKY_ERR_SCHEMA_REGISTRY_INVALID_SCHEMA",
  refused: "SKY_ERR_SCHEMA_REGISTRY_REFUSED",
};

export class SchemaRegistryError extends SkystreamError {
  constructor(
    readonly type: RegistryErrorType,
    message: string,
    /** HTTP status, when the registry answered. */
    readonly status?: number,
    options?: ErrorOptions,
  ) {
    super(CODES[type], message, options);
    this.name = "SchemaRegistryError";
  }

  /** Worth retrying: the registry was away or overloaded, not refusing. */
  get transient(): boolean {
    return this.type === "unreachable";
  }
}

/** A schema as GET /schemas/ids/{id} returns it. */
export interface RegisteredSchema {
  schema: string;
  schemaType?: string;
  references?: unknown[];
}

const CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";

export class SchemaRegistryClient {
  readonly url: string;
  private readonly agent: HttpAgent;
  private readonly auth?: string;

  constructor(private readonly cfg: SchemaRegistryConfig) {
    this.url = cfg.url.replace(/\/+$/, "");
    this.agent = this.url.startsWith("https:")
      ? new HttpsAgent({ keepAlive: true, ...tlsConnectOptions(cfg.tls, "schema_registry") })
      : new HttpAgent({ keepAlive: true });
    if (cfg.username || cfg.password) this.auth = `Basic ${Buffer.from(`${cfg.username}:${cfg.password}`).toString("base64")}`;
  }

  /** Registers an Avro schema under a subject (or finds it there); its id. */
  async register(subject: string, schema: string): Promise<number> {
    const res = await this.call<{ id?: number }>("POST", `/subjects/${encodeURIComponent(subject)}/versions`, { schema });
    if (typeof res.body?.id !== "number") throw new SchemaRegistryError("refused", `${this.url}: registering under ${subject} answered no id`, res.status);
    return res.body.id;
  }

  /** Sets a subject's compatibility level. */
  async setCompatibility(subject: string, level: string): Promise<void> {
    await this.call("PUT", `/config/${encodeURIComponent(subject)}`, { compatibility: level });
  }

  /** The schema of an id; undefined when the registry has none of that id. */
  async schemaById(id: number): Promise<RegisteredSchema | undefined> {
    const res = await this.call<RegisteredSchema & { error_code?: number }>("GET", `/schemas/ids/${id}`, undefined, [404]);
    // Only the API's own "schema not found" (40403) says the id is not the registry's: a 404 of a wrong
    // url (a path missing) must not turn every id into a pinned one.
    if (res.status === 404) {
      if (res.body?.error_code === 40403) return undefined;
      throw failure(`GET ${this.url}/schemas/ids/${id}`, 404, res.body, "not found (is the url the API's root?)");
    }
    if (typeof res.body?.schema !== "string") throw new SchemaRegistryError("refused", `${this.url}: schema ${id} came without a schema`, res.status);
    return res.body;
  }

  close(): void {
    this.agent.destroy();
  }

  private call<T>(method: string, path: string, body?: unknown, accepted: number[] = []): Promise<{ status: number; body?: T }> {
    const url = new URL(this.url + path);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    const where = `${method} ${this.url}${path}`;
    return new Promise((resolve, reject) => {
      const req = send(
        url,
        {
          method,
          agent: this.agent,
          timeout: this.cfg.timeout,
          headers: {
            accept: `${CONTENT_TYPE}, application/json`,
            ...(payload ? { "content-type": CONTENT_TYPE, "content-length": payload.length } : {}),
            ...(this.auth ? { authorization: this.auth } : {}),
          },
        },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", (err) => reject(new SchemaRegistryError("unreachable", `${where}: ${err.message}`, undefined, { cause: err })));
          res.on("end", () => {
            const status = res.statusCode ?? 0;
            const text = Buffer.concat(chunks).toString("utf8");
            let parsed: unknown;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              parsed = undefined;
            }
            if ((status >= 200 && status < 300) || accepted.includes(status)) return resolve({ status, body: parsed as T });
            reject(failure(where, status, parsed, text));
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error(`no answer within ${this.cfg.timeout} ms`)));
      req.on("error", (err) => reject(new SchemaRegistryError("unreachable", `${where}: ${errorMessage(err)}`, undefined, { cause: err })));
      req.end(payload);
    });
  }
}

/** The registry's refusal as an error: Confluent answers {error_code, message}. */
function failure(where: string, status: number, body: unknown, text: string): SchemaRegistryError {
  const b = (body ?? {}) as { error_code?: number; message?: string };
  const said = b.message ? `${b.message}${b.error_code ? ` (error ${b.error_code})` : ""}` : text.slice(0, 300) || "no message";
  const type: RegistryErrorType =
    status >= 500 || status === 429 || status === 408
      ? "unreachable"
      : status === 401 || status === 403
        ? "auth"
        : status === 409
          ? "incompatible"
          : status === 422
            ? "invalid_schema"
            : "refused";
  const hint =
    type === "auth"
      ? " (check schema_registry.username and .password)"
      : type === "incompatible"
        ? " (the subject holds schemas this version cannot follow under its compatibility level; see schema_registry.compatibility)"
        : "";
  return new SchemaRegistryError(type, `${where}: HTTP ${status}: ${said}${hint}`, status);
}
