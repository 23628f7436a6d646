// Components (probes, processors, sinks) are registered by name in an explicit list; instances in
// config are keyed "type" or "type/name" so one factory can run several times (otelcol style).
import { z } from "zod";

export interface Factory<Cfg = unknown, Deps = unknown, Instance = unknown> {
  /** The type name used in config keys. */
  name: string;
  /** One line for --help and the README. */
  description: string;
  /** Strict schema with defaults; the instance's config is validated against it at start. */
  config: z.ZodType<Cfg>;
  /** Inert: builds the instance, opens nothing until its start(). */
  create(cfg: Cfg, deps: Deps): Instance;
}

export class ComponentRegistry<F extends Factory<any, any, any>> {
  private readonly byName = new Map<string, F>();

  constructor(
    readonly kind: string,
    factories: F[],
  ) {
    for (const f of factories) {
      if (this.byName.has(f.name)) throw new Error(`${kind} "${f.name}" is registered twice`);
      this.byName.set(f.name, f);
    }
  }

  get(type: string): F | undefined {
    return this.byName.get(type);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  /** Splits an instance id "type/name" into its factory. */
  factoryOf(id: string): F | undefined {
    return this.byName.get(id.split("/")[0]!);
  }

  /**
   * Schema of a map of instances {"type[/name]": config}: each value validated by its factory's schema,
   * an unknown type reported with the types that exist.
   */
  instancesSchema(defaults: Record<string, unknown> = {}) {
    return z
      .record(z.string(), z.unknown())
      .default(defaults)
      .transform((map, ctx) => {
        const out: Record<string, unknown> = {};
        for (const [id, value] of Object.entries(map)) {
          const f = this.factoryOf(id);
          if (!f) {
            ctx.addIssue({ code: "custom", path: [id], message: `unknown ${this.kind} type "${id.split("/")[0]}" (known: ${this.names().join(", ")})` });
            continue;
          }
          const r = f.config.safeParse(value ?? {});
          if (!r.success) {
            for (const issue of r.error.issues) ctx.addIssue({ ...issue, path: [id, ...issue.path] } as z.core.$ZodRawIssue);
            continue;
          }
          out[id] = r.data;
        }
        return out;
      });
  }
}
