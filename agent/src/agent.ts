// The agent: runs the configured probes and publishes what they see. It never talks to ClickHouse.
import type { AvroCodec, FlowRecord } from "@skystream/schemas";
import type { Logger, MetricsRegistry, Producer } from "@skystream/common";
import type { AgentConfig } from "./config.js";
import { flowProbes } from "./probes/flow/registry.js";
import type { FlowEmitter, FlowProbe } from "./probes/flow/types.js";
import { FlowPublisher } from "./publisher.js";

export interface AgentDeps {
  log: Logger;
  metrics: MetricsRegistry;
  codec: AvroCodec;
  /** Absent in --print mode. */
  producer?: Producer;
  /** --print: flows as JSON lines on this stream instead of Kafka. */
  print?: NodeJS.WritableStream;
}

export class Agent {
  readonly probes: FlowProbe[];
  private readonly emit: FlowEmitter;
  private publisher?: FlowPublisher;

  constructor(
    private readonly cfg: AgentConfig,
    private readonly deps: AgentDeps,
  ) {
    const log = deps.log.child({ component: "agent" });
    this.probes = Object.entries(cfg.flow.probes).map(([id, probeCfg]) =>
      flowProbes.factoryOf(id)!.create(probeCfg, { id, hostId: cfg.host_id, log, metrics: deps.metrics }),
    );
    if (deps.print) {
      const out = deps.print;
      this.emit = async (flows: FlowRecord[]) => {
        const text = flows.map((f) => JSON.stringify(f)).join("\n") + "\n";
        if (!out.write(text)) await new Promise((r) => out.once("drain", r));
      };
    } else {
      if (!deps.producer) throw new Error("agent needs a producer unless printing");
      const publisher = new FlowPublisher(deps.producer, deps.codec, cfg.flow.topic, log, deps.metrics, {
        batchSize: cfg.flow.batch_size,
        maxBuffered: cfg.flow.max_buffered,
      });
      this.publisher = publisher;
      this.emit = (flows) => publisher.publish(flows);
    }
  }

  async start(): Promise<void> {
    for (const p of this.probes) await p.start(this.emit);
  }

  /** True when every probe stops by itself, so the agent can end when they are done. */
  finite(): boolean {
    return this.probes.length > 0 && this.probes.every((p) => p.finite);
  }

  /** Resolves when every finite probe is done and its flows are acknowledged. */
  async done(): Promise<void> {
    await Promise.all(this.probes.map((p) => p.done()));
    await this.publisher?.flush();
  }

  /** Stops the probes, then waits until what they emitted is acknowledged. */
  async stop(): Promise<void> {
    await Promise.all(this.probes.map((p) => p.stop()));
    await this.publisher?.flush();
  }
}
