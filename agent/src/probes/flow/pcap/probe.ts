// Live capture: a capture child (capture-child.mjs, in the interface's namespace through nsenter) streams
// pcap records on its stdout; the agent parses them into its flow table and, every flush_interval,
// advances the table on the clock and hands the flows to the publisher. A child that dies is restarted.
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Counter, errorMessage, sharedMetric } from "@skystream/common";
import { loadFlowHasher } from "../../../flow/ids.js";
import { CaptureParser } from "../../../flow/pcapfile.js";
import { FlowHandOff, PacketFlows, packetCounters, reportFlowsHeld } from "../../../flow/source.js";
import { findInterface } from "../../../graph/lookup.js";
import type { FlowEmitter, FlowProbe, FlowProbeDeps } from "../types.js";
import type { CaptureConfig } from "./config.js";

const CHILD = fileURLToPath(new URL("./capture-child.mjs", import.meta.url));
const RESTART_MS = 1000;

/** The namespace file of a config's netns: a path as is, a bare name under /run/netns. */
export const netnsPath = (netns: string) => (netns === "" ? undefined : netns.startsWith("/") ? netns : `/run/netns/${netns}`);

export class CaptureProbe implements FlowProbe {
  readonly id: string;
  readonly finite = false;
  private child?: ChildProcess;
  private flows?: PacketFlows;
  private timer?: NodeJS.Timeout;
  private handOff?: FlowHandOff;
  private stopping = false;
  private readonly dropped: Counter<"probe">;
  /** Packets the capture child could not hand over (the agent's pipe was full). */
  droppedPackets = 0;

  constructor(
    private readonly cfg: CaptureConfig,
    private readonly deps: FlowProbeDeps,
    private readonly type: "pcap" | "afpacket",
  ) {
    this.id = deps.id;
    this.dropped = sharedMetric(
      deps.metrics,
      "skystream_agent_capture_dropped_total",
      () =>
        new Counter({
          name: "skystream_agent_capture_dropped_total",
          help: "Packets a live capture dropped because the agent was not reading fast enough",
          labelNames: ["probe"],
          registers: [deps.metrics],
        }),
    );
  }

  /** Packets counted into this capture's flow table. */
  get packets(): number {
    return this.flows?.table.stats.packets ?? 0;
  }

  async start(emit: FlowEmitter): Promise<void> {
    await loadFlowHasher();
    const { deps, cfg } = this;
    this.handOff = new FlowHandOff(emit, (err) => deps.log.error({ probe: this.id, err: errorMessage(err) }, "emitting flows failed"));
    const flows = (this.flows = new PacketFlows(
      deps.table,
      { host: deps.hostId, nodeTID: cfg.node_tid || this.resolveNode(), captureID: cfg.capture_id, captureType: this.type },
      this.id,
      packetCounters(deps.metrics),
    ));
    reportFlowsHeld(deps.metrics, this.id, () => flows.table.size);
    await this.spawnChild();
    this.timer = setInterval(() => this.tick(), cfg.flush_interval);
    deps.log.info({ probe: this.id, interface: cfg.interface, netns: cfg.netns || undefined, filter: cfg.filter || undefined }, "live capture started");
  }

  private resolveNode(): string {
    const n = findInterface(this.deps.graph, this.cfg.interface, netnsPath(this.cfg.netns));
    return n ? String(n.Metadata.TID ?? n.ID) : "";
  }

  private spawnChild(): Promise<void> {
    const { cfg } = this;
    const args = [CHILD, JSON.stringify({ device: cfg.interface, filter: cfg.filter, snaplen: cfg.snaplen, bufferSize: cfg.buffer_size })];
    const ns = netnsPath(cfg.netns);
    const child = ns ? spawn("nsenter", [`--net=${ns}`, process.execPath, ...args]) : spawn(process.execPath, args);
    this.child = child;
    const flows = this.flows!;
    const parser = new CaptureParser(`capture on ${cfg.interface}`, (data, start, end, length, time, linkType) =>
      flows.frame(data, start, end, length, time, linkType),
    );
    child.stdout!.on("data", (chunk: Buffer) => {
      try {
        parser.push(chunk);
      } catch (err) {
        this.deps.log.error({ probe: this.id, err: errorMessage(err) }, "capture stream unreadable; restarting the capture");
        child.kill();
      }
    });
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      let lastError = "";
      createInterface({ input: child.stderr! }).on("line", (line) => {
        let msg: { ready?: number; error?: string; dropped?: number };
        try {
          msg = JSON.parse(line);
        } catch {
          lastError = line;
          return;
        }
        if (msg.ready !== undefined) {
          ready = true;
          resolve();
        } else if (msg.error) lastError = msg.error;
        else if (msg.dropped) {
          this.droppedPackets += msg.dropped;
          this.dropped.inc({ probe: this.id }, msg.dropped);
        }
      });
      child.on("error", (err) => reject(new Error(`capture on ${cfg.interface}: ${err.message}`)));
      child.on("exit", (code, signal) => {
        if (!ready) return reject(new Error(lastError || `capture child exited (${code ?? signal}) before the capture opened`));
        if (this.stopping) return;
        this.deps.log.error({ probe: this.id, code, signal, err: lastError || undefined }, `capture child stopped; restarting in ${RESTART_MS} ms`);
        this.restartLater(RESTART_MS);
      });
    });
  }

  /** Starts the capture child again after `ms`, and keeps trying (up to a minute apart) while it cannot. */
  private restartLater(ms: number): void {
    setTimeout(() => {
      if (this.stopping) return;
      this.spawnChild().catch((err) => {
        const next = Math.min(ms * 2, 60_000);
        this.deps.log.error({ probe: this.id, err: errorMessage(err), retry_in_ms: next }, "capture restart failed");
        this.restartLater(next);
      });
    }, ms);
  }

  private tick(): void {
    const flows = this.flows!;
    if (!flows.table.point.nodeTID) flows.table.point.nodeTID = this.resolveNode();
    flows.table.advance(Date.now());
    this.handOff?.hand(flows.drain());
  }

  done(): Promise<void> {
    return new Promise(() => {});
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once("close", () => r()));
      child.stdin?.end();
      child.kill("SIGTERM");
      await exited;
    }
    if (this.flows) {
      this.flows.table.flush(Date.now());
      this.handOff?.hand(this.flows.drain());
    }
    await this.handOff?.settled();
  }
}
