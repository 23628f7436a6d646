// A process's side of a Confluent-compatible Schema Registry. At start, every schema the process writes
// is registered under its topic's subject (TopicNameStrategy: `<topic>-value`), every catalogued version
// of the record oldest first, so the subject's history is the catalog's and each version is checked
// against the ones before it; records are then framed with the id the registry gave to the writer
// version. Consumers look up ids they do not know (AvroCodec.prepare); an id the registry does not have
// is a pinned one (a record written before the registry, or by a process without one).
import { Counter, errorMessage, retry, sharedMetric, type Healthcheck, type Logger, type MetricsRegistry } from "@skystream/common";
import type { AvroCodec } from "@skystream/schemas";
import type avro from "avsc";
import { SchemaRegistryClient, SchemaRegistryError, type RegistryErrorType } from "./client.js";
import type { SchemaRegistryConfig } from "./config.js";

/** A record this process publishes, on a topic. */
export interface RegistryWrite {
  topic: string;
  /** The Avro full name, e.g. skystream.flow.FlowRecord. */
  record: string;
}

export interface SchemaRegistryDeps {
  log: Logger;
  metrics: MetricsRegistry;
  health?: Map<string, Healthcheck>;
}

/** TopicNameStrategy: the subject of a topic's values. */
export const subjectOf = (topic: string) => `${topic}-value`;

/** How long an id the registry did not have is taken for a pinned one before the registry is asked again. */
const NOT_FOUND_RECHECK_MS = 60_000;
const BACKOFF = { initialMs: 500, maxMs: 30_000 };

/**
 * The schema as registered: compact JSON, a string "{}" written "\u007b}" (the same JSON value). Apicurio
 * Registry (3.x, AvroContentAccepter) rewrites `: "{}"` to `:{}` before parsing a schema to find its type,
 * which turns a string field's default "{}" (Metadata's) into an object, so it refuses the schema as not Avro.
 */
export const schemaText = (schema: avro.Schema): string => JSON.stringify(schema).replaceAll(':"{}"', ':"\\u007b}"');

export class SchemaRegistry {
  readonly client: SchemaRegistryClient;
  private readonly log: Logger;
  private readonly errors: Counter<"operation" | "error_type">;
  private readonly inflight = new Map<number, Promise<void>>();
  private closed = false;
  private pending?: string;
  /** Registry ids by subject and version, once registered. */
  readonly registered = new Map<string, Map<number, number>>();

  constructor(
    private readonly cfg: SchemaRegistryConfig,
    private readonly codec: AvroCodec,
    private readonly deps: SchemaRegistryDeps,
  ) {
    this.client = new SchemaRegistryClient(cfg);
    this.log = deps.log.child({ component: "schema-registry" });
    this.errors = sharedMetric(
      deps.metrics,
      "skystream_schema_registry_errors_total",
      () =>
        new Counter({
          name: "skystream_schema_registry_errors_total",
          help: "Failed requests to the schema registry, by operation (register, lookup) and error type",
          labelNames: ["operation", "error_type"],
          registers: [deps.metrics],
        }),
    );
  }

  /**
   * Registers what this process writes and makes the codec use the registry. Resolves once registered; with
   * pinned_fallback, as soon as the first attempt failed (registration goes on in the background). A refusal
   * (credentials, an incompatible subject, an invalid schema) rejects: retrying would not change it.
   */
  async start(writes: RegistryWrite[]): Promise<void> {
    this.codec.setRegistryLookup((ids) => this.lookup(ids));
    const unique = [...new Map(writes.map((w) => [`${w.topic}\0${w.record}`, w])).values()];
    if (unique.length === 0) return;
    this.pending = "not registered yet";
    this.deps.health?.set("schema_registry", () =>
      this.pending === undefined
        ? Promise.resolve()
        : Promise.reject(
            new Error(`schemas not registered (${this.cfg.pinned_fallback ? "records carry the pinned ids" : "nothing published"}): ${this.pending}`),
          ),
    );
    const attempt = () => this.registerAll(unique);
    if (!this.cfg.pinned_fallback) {
      await this.retrying(
        "register",
        attempt,
        "records wait until their schemas are registered (schema_registry.pinned_fallback publishes with the pinned ids meanwhile)",
      );
      return;
    }
    try {
      await attempt();
    } catch (err) {
      if (!(err instanceof SchemaRegistryError) || !err.transient) throw this.count("register", err);
      this.count("register", err);
      this.log.error(
        { err: errorMessage(err), code: err.code, url: this.client.url },
        "schema registry unreachable at start: publishing with the pinned ids until the schemas are registered (schema_registry.pinned_fallback)",
      );
      void this.retrying("register", attempt, "still publishing with the pinned ids").catch((e: unknown) => {
        if (!this.closed) this.log.error({ err: errorMessage(e) }, "schema registration abandoned: records keep the pinned ids");
      });
    }
  }

  /** Stops retries in progress (they reject), and the connections. */
  close(): void {
    this.closed = true;
    this.codec.setRegistryLookup(undefined);
    this.client.close();
  }

  private async registerAll(writes: RegistryWrite[]): Promise<void> {
    for (const { topic, record } of writes) {
      const subject = subjectOf(topic);
      const ids = new Map<number, number>();
      const versions = this.codec.versionsOf(record);
      for (const [i, v] of versions.entries()) {
        // After the first version, which creates the subject (a registry may refuse the config of a subject it
        // does not have), and before the newer ones, which the level must let in.
        if (i === 1 && this.cfg.compatibility) await this.client.setCompatibility(subject, this.cfg.compatibility);
        const id = await this.client.register(subject, schemaText(v.schema));
        this.codec.learn(id, v.schema);
        ids.set(v.version, id);
      }
      if (versions.length === 1 && this.cfg.compatibility) await this.client.setCompatibility(subject, this.cfg.compatibility);
      this.registered.set(subject, ids);
    }
    // Switch only when every subject is registered: one process writes one set of ids.
    for (const { topic, record } of writes) {
      this.codec.useWriterId(topic, record, this.registered.get(subjectOf(topic))!.get(this.codec.writerFor(record).version)!);
    }
    this.pending = undefined;
    this.log.info(
      { url: this.client.url, subjects: Object.fromEntries([...this.registered].map(([s, ids]) => [s, Object.fromEntries(ids)])) },
      "schemas registered: records carry the registry's ids",
    );
  }

  /** Looks up ids in the registry, once each even when several consumers ask at the same time. */
  private async lookup(ids: number[]): Promise<void> {
    await Promise.all(
      ids.map((id) => {
        let p = this.inflight.get(id);
        if (!p) {
          // Every failure is retried here, refusals too (credentials fixed on the registry's side, a proxy
          // answering for it): a record whose schema cannot be had now waits rather than going to the DLQ.
          p = this.retrying("lookup", () => this.fetchSchema(id), "consumption waits", true).finally(() => this.inflight.delete(id));
          this.inflight.set(id, p);
        }
        return p;
      }),
    );
  }

  private async fetchSchema(id: number): Promise<void> {
    const found = await this.client.schemaById(id);
    if (!found) {
      this.codec.markAbsent(id, Date.now() + NOT_FOUND_RECHECK_MS);
      this.log.debug({ schema_id: id }, "schema id not in the registry: read with the pinned ids");
      return;
    }
    const why =
      found.schemaType && found.schemaType !== "AVRO"
        ? `schema id ${id} is ${found.schemaType}, not Avro`
        : found.references?.length
          ? `schema id ${id} uses schema references, which Skystream does not resolve`
          : undefined;
    if (why) {
      this.codec.markUnusable(id, why);
      this.log.warn({ schema_id: id }, why);
      return;
    }
    try {
      const e = this.codec.learn(id, JSON.parse(found.schema) as avro.Schema);
      this.log.info({ schema_id: id, record: e.name, version: e.version || "not catalogued" }, "schema read from the registry");
    } catch (err) {
      this.log.warn({ schema_id: id, err: errorMessage(err) }, "the registry's schema cannot be used: its records are dead-lettered");
    }
  }

  /** Retries transient failures (all with `all`) with backoff until `closed`; counts and logs each failure. */
  private retrying(operation: "register" | "lookup", fn: () => Promise<void>, meanwhile: string, all = false): Promise<void> {
    let permanent = false;
    return retry(
      async () => {
        try {
          await fn();
        } catch (err) {
          permanent = !all && (!(err instanceof SchemaRegistryError) || !err.transient);
          if (permanent) this.count(operation, err);
          throw err;
        }
      },
      {
        ...BACKOFF,
        aborted: () => permanent || this.closed,
        onError: (err, attempt, waitMs) => {
          this.count(operation, err);
          if (operation === "register") this.pending = errorMessage(err);
          this.log.error(
            { err: errorMessage(err), code: (err as SchemaRegistryError).code, url: this.client.url, attempt, retry_in_ms: waitMs },
            `schema registry ${(err as SchemaRegistryError).transient === false ? "refused" : "unreachable"} (${operation}): ${meanwhile}; retrying`,
          );
        },
      },
    );
  }

  private count(operation: string, err: unknown): unknown {
    const type: RegistryErrorType = err instanceof SchemaRegistryError ? err.type : "refused";
    this.errors.inc({ operation, error_type: type });
    return err;
  }
}
