// The agent: runs the configured probes and publishes what they see. It never talks to ClickHouse.
// Topology probes fill the agent's graph, published as TopologyDeltas; flow probes emit FlowRecords.
// A probe that fails to start is logged once and marked down in skystream_agent_probe_up; the others run.
import { CONTROL_MESSAGE, DLQ_HEADERS, FLOW_RECORD, TOPICS, TOPOLOGY_DELTA, type AvroCodec, type ControlMessage, type FlowRecord } from "@skystream/schemas";
import { Counter, Gauge, errorMessage, type Consumer, type Logger, type MetricsRegistry, type Producer } from "@skystream/common";
import { CaptureManager } from "./captures/manager.js";
import type { AgentConfig } from "./config.js";
import { Graph } from "./graph/graph.js";
import { TopologyPublisher, kafkaDeltaSink, type DeltaSink } from "./graph/publisher.js";
import { RuleDecorations } from "./graph/decorations.js";
import { flowProbes } from "./probes/flow/registry.js";
import type { FlowEmitter, FlowProbe } from "./probes/flow/types.js";
import { topologyProbes } from "./probes/topology/registry.js";
import type { TopologyProbe } from "./probes/topology/types.js";
import { FlowPublisher } from "./publisher.js";

export interface AgentDeps {
  log: Logger;
  metrics: MetricsRegistry;
  codec: AvroCodec;
  /** Absent in --print mode. */
  producer?: Producer;
  /** --print: the graph, its changes and the flows as JSON lines on this stream instead of Kafka. */
  print?: NodeJS.WritableStream;
  /** Consumer of the control topic (captures on demand); absent: no captures on demand. */
  control?: Consumer;
}

/** The records an agent publishes and their topics (what it registers in a schema registry); dead letters are raw bytes. */
export function agentWrites(cfg: AgentConfig): { topic: string; record: string }[] {
  return [
    { topic: cfg.flow.topic, record: FLOW_RECORD },
    { topic: cfg.topology.topic, record: TOPOLOGY_DELTA },
  ];
}

/** Bad input a probe received (an undecodable sFlow datagram) goes to the dead-letter topic, with why. */
function agentDeadLetters(producer: Producer, log: Logger): (data: Uint8Array, reason: string, error: string) => void {
  let failing = false;
  return (data, reason, error) => {
    const headers = { [DLQ_HEADERS.reason]: reason, [DLQ_HEADERS.error]: error.slice(0, 500), [DLQ_HEADERS.stage]: "agent" };
    producer.send(TOPICS.dlq, [{ value: Buffer.from(data), headers }]).then(
      () => (failing = false),
      (err) => {
        if (!failing) log.error({ err: errorMessage(err), reason }, "could not dead-letter bad input (counted in skystream_agent_packets_undecodable_total)");
        failing = true;
      },
    );
  };
}

export class Agent {
  readonly graph: Graph;
  /** Metadata the API's update node rules add to this host's nodes. */
  readonly decorations: RuleDecorations;
  readonly probes: FlowProbe[];
  readonly topologyProbes: TopologyProbe[];
  private readonly emit: FlowEmitter;
  private readonly deltaSink: DeltaSink;
  private readonly topology: TopologyPublisher;
  private publisher?: FlowPublisher;
  private readonly probeUp: Gauge<"probe">;
  /** Captures on demand (when the agent follows the control topic). */
  readonly captures?: CaptureManager;
  private readonly deadLetter?: (data: Uint8Array, reason: string, error: string) => void;
  private stopping = false;
  /** Probes that failed to start, with why (for /healthz). */
  readonly failedProbes = new Map<string, string>();
  private readonly log: Logger;

  constructor(
    private readonly cfg: AgentConfig,
    private readonly deps: AgentDeps,
  ) {
    const log = (this.log = deps.log.child({ component: "agent" }));
    this.graph = new Graph(cfg.host_id, `agent.${cfg.host_id}`);
    this.decorations = new RuleDecorations(this.graph);
    this.probeUp = new Gauge({
      name: "skystream_agent_probe_up",
      help: "1 when the probe runs, 0 when it failed",
      labelNames: ["probe"],
      registers: [deps.metrics],
    });
    const deadLetter = (this.deadLetter = deps.producer ? agentDeadLetters(deps.producer, log) : undefined);
    if (deps.control && cfg.captures.enabled) {
      this.captures = new CaptureManager({
        hostId: cfg.host_id,
        graph: this.graph,
        log,
        metrics: deps.metrics,
        table: cfg.flow.table,
        settings: cfg.captures,
        deadLetter,
      });
    }
    this.probes = Object.entries(cfg.flow.probes).map(([id, probeCfg]) =>
      flowProbes.factoryOf(id)!.create(probeCfg, { id, hostId: cfg.host_id, log, metrics: deps.metrics, graph: this.graph, table: cfg.flow.table, deadLetter }),
    );
    this.topologyProbes = Object.entries(cfg.topology.probes).map(([id, probeCfg]) =>
      topologyProbes.factoryOf(id)!.create(probeCfg, { id, hostId: cfg.host_id, graph: this.graph, log, metrics: deps.metrics }),
    );
    if (deps.print) {
      const out = deps.print;
      const write = async (text: string) => {
        if (!out.write(text)) await new Promise((r) => out.once("drain", r));
      };
      this.emit = (flows: FlowRecord[]) => write(flows.map((f) => JSON.stringify(f)).join("\n") + "\n");
      this.deltaSink = (deltas) => write(deltas.map((d) => JSON.stringify({ TopologyDelta: d })).join("\n") + "\n");
    } else {
      if (!deps.producer) throw new Error("agent needs a producer unless printing");
      const publisher = new FlowPublisher(deps.producer, deps.codec, cfg.flow.topic, log, deps.metrics, {
        batchSize: cfg.flow.batch_size,
        maxBuffered: cfg.flow.max_buffered,
      });
      this.publisher = publisher;
      this.emit = (flows) => publisher.publish(flows);
      this.deltaSink = kafkaDeltaSink(deps.producer, deps.codec, cfg.topology.topic, log, deps.metrics);
    }
    this.topology = new TopologyPublisher(this.graph, this.deltaSink, cfg.topology.heartbeat, log);
  }

  async start(): Promise<void> {
    for (const p of this.topologyProbes) {
      try {
        await p.start();
        this.probeUp.set({ probe: p.id }, 1);
      } catch (err) {
        this.probeUp.set({ probe: p.id }, 0);
        this.failedProbes.set(p.id, errorMessage(err));
        this.log.error({ probe: p.id, err: errorMessage(err) }, "topology probe failed to start; the other probes go on");
      }
    }
    if (this.topologyProbes.length > 0) await this.topology.start();
    for (const p of this.probes) {
      await p.start(this.emit);
      this.probeUp.set({ probe: p.id }, 1);
    }
    // In the background: joining the control topic's group takes seconds, and the agent is up (and able to
    // stop on a signal) without it; captures start once the orders are read.
    if (this.captures && this.deps.control) {
      const captures = this.captures;
      const control = this.deps.control;
      void this.followControl(captures, control).catch((err) => {
        if (!this.stopping) this.log.error({ err: errorMessage(err) }, "following the control topic failed: no captures on demand");
      });
    }
  }

  /** Reads the control topic from its beginning (never committing: every start replays the capture set). */
  private async followControl(captures: CaptureManager, consumer: Consumer): Promise<void> {
    const invalid = new Counter({
      name: "skystream_agent_control_invalid_total",
      help: "Control messages that could not be read (dead-lettered)",
      registers: [this.deps.metrics],
    });
    captures.start(this.emit);
    await consumer.connect();
    await consumer.subscribe([this.cfg.captures.topic], true);
    void consumer.run({
      onBatch: async (batch) => {
        await this.deps.codec.prepare(batch.messages.map((m) => m.value));
        for (const m of batch.messages) {
          if (!m.value) continue;
          try {
            const msg = this.deps.codec.decode<ControlMessage>(m.value, CONTROL_MESSAGE).value;
            captures.apply(msg);
            this.decorations.apply(msg);
          } catch (err) {
            invalid.inc();
            this.log.error({ err: errorMessage(err), offset: m.offset, partition: m.partition }, "unreadable control message; dead-lettered");
            this.deadLetter?.(m.value, "control_decode", errorMessage(err));
          }
        }
      },
    });
  }

  /** True when every flow probe stops by itself (a bounded run): the agent ends when they are done. */
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
    this.stopping = true;
    await this.deps.control?.disconnect().catch(() => undefined);
    await this.captures?.stop();
    await Promise.all([...this.probes.map((p) => p.stop()), ...this.topologyProbes.map((p) => p.stop())]);
    await this.topology.stop();
    await this.publisher?.flush();
  }
}
