// One kind's objects kept current as client-go's reflector does: list (remember the list's
// resourceVersion), then watch from it; a watch the server ends is resumed from the last event's (or
// bookmark's) resourceVersion; "410 Gone" (the version was compacted away) means list again. The store
// holds the objects by uid; `onChange` is called after every list and event.
import { errorMessage, type Logger } from "@skystream/common";
import { ApiError, type KubeClient, type WatchEvent } from "./client.js";
import type { K8sMetrics } from "./metrics.js";
import type { KObject } from "./objects.js";
import type { ResourceName } from "./resources.js";

export interface ReflectorOptions {
  name: ResourceName;
  path: string;
  /** Extra list/watch parameters (fieldSelector for node_only). */
  query: Record<string, string | undefined>;
  timeoutSeconds: number;
  client: KubeClient;
  log: Logger;
  metrics: K8sMetrics;
  probe: string;
  onChange: (r: Reflector) => void;
}

const BACKOFF_MIN = 500;
const BACKOFF_MAX = 30_000;

export class Reflector {
  readonly store = new Map<string, KObject>();
  resourceVersion = "";
  private stopped = false;
  private current?: { close(): void };
  private loop?: Promise<void>;
  private wake?: () => void;
  /** Cancels a request still waiting for its answer when the probe stops. */
  private readonly aborter = new AbortController();

  constructor(private readonly o: ReflectorOptions) {}

  get name(): ResourceName {
    return this.o.name;
  }

  /** Runs the first list; resolves with its error (if any) while retrying in the background. */
  start(): Promise<Error | undefined> {
    let first!: (err?: Error) => void;
    const firstDone = new Promise<Error | undefined>((r) => (first = r));
    this.loop = this.run(first);
    return firstDone;
  }

  private async run(first: (err?: Error) => void): Promise<void> {
    let needList = true;
    let backoff = BACKOFF_MIN;
    let reported = false;
    let lastLogged = "";
    while (!this.stopped) {
      try {
        if (needList) {
          await this.relist();
          needList = false;
          if (!reported) first();
          reported = true;
        }
        const started = Date.now();
        const { gone, events } = await this.watchOnce();
        if (!gone && events === 0 && Date.now() - started < 1000) {
          // A watch that ends at once with nothing in it (a proxy cutting streams, a server restarting):
          // wait before the next one rather than loop on the API server.
          await this.sleep(backoff);
          backoff = Math.min(BACKOFF_MAX, backoff * 2);
          continue;
        }
        backoff = BACKOFF_MIN;
        lastLogged = "";
        if (gone) {
          needList = true;
          this.o.metrics.relists.inc({ probe: this.o.probe, resource: this.o.name, reason: "gone" });
          this.o.log.info({ probe: this.o.probe, resource: this.o.name, resourceVersion: this.resourceVersion }, "watch expired (410 Gone): listing again");
        }
      } catch (err) {
        if (this.stopped) break;
        // 410 on a watch: list again at once. (On a list, an expired continue token: back off like any error.)
        if (err instanceof ApiError && err.status === 410 && !needList) {
          needList = true;
          this.o.metrics.relists.inc({ probe: this.o.probe, resource: this.o.name, reason: "gone" });
          continue;
        }
        this.o.metrics.errors.inc({ probe: this.o.probe, resource: this.o.name });
        if (!reported) {
          first(err as Error);
          reported = true;
        } else if (errorMessage(err) !== lastLogged) {
          // Once per distinct error: a kind this server does not serve (404) or may not be read (403) fails on every retry.
          lastLogged = errorMessage(err);
          this.o.log.warn({ probe: this.o.probe, resource: this.o.name, err: lastLogged, retryMs: backoff }, "Kubernetes API call failed; retrying");
        }
        await this.sleep(backoff);
        backoff = Math.min(BACKOFF_MAX, backoff * 2);
      }
    }
    if (!reported) first(new Error("stopped before the first list"));
  }

  private async relist(): Promise<void> {
    const { items, resourceVersion } = await this.o.client.list(this.o.path, this.o.query, this.aborter.signal);
    this.store.clear();
    for (const it of items) this.store.set(it.metadata.uid, it);
    this.resourceVersion = resourceVersion;
    this.o.metrics.lists.inc({ probe: this.o.probe, resource: this.o.name });
    this.o.onChange(this);
  }

  /** One watch request: whether the server said the resourceVersion is gone, and how many events came. */
  private async watchOnce(): Promise<{ gone: boolean; events: number }> {
    let gone = false;
    let failure: Error | undefined;
    let events = 0;
    const w = await this.o.client.watch(
      this.o.path,
      this.resourceVersion,
      this.o.timeoutSeconds,
      this.o.query,
      (e) => {
        if (gone || failure) return;
        events++;
        const r = this.apply(e);
        if (r === "gone") gone = true;
        else if (r instanceof Error) failure = r;
        if (gone || failure) this.current?.close();
      },
      this.aborter.signal,
    );
    this.current = w;
    // An event handled before `w` was known (same tick as the response) may already have ended it.
    if (gone || failure) w.close();
    await w.done;
    this.current = undefined;
    if (failure) throw failure;
    return { gone, events };
  }

  private apply(e: WatchEvent): "gone" | Error | undefined {
    this.o.metrics.events.inc({ probe: this.o.probe, resource: this.o.name, type: e.type });
    const rv = e.object?.metadata?.resourceVersion;
    switch (e.type) {
      case "ADDED":
      case "MODIFIED":
        this.store.set(e.object.metadata.uid, e.object);
        break;
      case "DELETED":
        this.store.delete(e.object.metadata.uid);
        break;
      case "BOOKMARK":
        if (rv) this.resourceVersion = rv;
        return undefined;
      case "ERROR":
        // A Status object: 410 when our version was compacted (or the watch cache moved past it).
        if (e.object.code === 410) return "gone";
        return new ApiError(e.object.code ?? 0, `watch ${this.o.path}: ${e.object.reason ?? ""} ${e.object.message ?? ""}`.trim());
      default:
        return undefined;
    }
    if (rv) this.resourceVersion = rv;
    this.o.onChange(this);
    return undefined;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((r) => {
      const t = setTimeout(r, ms);
      this.wake = () => {
        clearTimeout(t);
        r();
      };
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.aborter.abort();
    this.current?.close();
    this.wake?.();
    await this.loop;
  }
}
