// Replays a capture file through a flow table at the file's own pace of time (packet timestamps drive the
// table's update and expiry), as fast as the publisher takes the flows; then emits every flow left.
import { spawn } from "node:child_process";
import { createReadStream } from "node:fs";
import { access } from "node:fs/promises";
import type { Readable } from "node:stream";
import { CaptureParser } from "../../../flow/pcapfile.js";
import { PacketFlows, packetCounters, reportFlowsHeld } from "../../../flow/source.js";
import { loadFlowHasher } from "../../../flow/ids.js";
import type { FlowEmitter, FlowProbe, FlowProbeDeps } from "../types.js";
import type { PcapfileConfig } from "./config.js";

export class PcapFileProbe implements FlowProbe {
  readonly id: string;
  readonly finite = true;
  private running = false;
  private finished: Promise<void> = Promise.resolve();
  private flows?: PacketFlows;

  constructor(
    private readonly cfg: PcapfileConfig,
    private readonly deps: FlowProbeDeps,
  ) {
    this.id = deps.id;
  }

  async start(emit: FlowEmitter): Promise<void> {
    await access(this.cfg.path);
    await loadFlowHasher();
    const { deps } = this;
    this.flows = new PacketFlows(
      deps.table,
      { host: deps.hostId, nodeTID: this.cfg.node_tid, captureID: "", captureType: "pcapfile" },
      this.id,
      packetCounters(deps.metrics),
    );
    const flows = this.flows;
    reportFlowsHeld(deps.metrics, this.id, () => flows.table.size);
    this.running = true;
    this.finished = this.run(emit, flows);
  }

  private source(): Readable {
    if (!this.cfg.filter) return createReadStream(this.cfg.path, { highWaterMark: 4 << 20 });
    const tcpdump = spawn("tcpdump", ["-r", this.cfg.path, "-w", "-", this.cfg.filter], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    tcpdump.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    tcpdump.on("error", (err) => tcpdump.stdout.destroy(new Error(`tcpdump (for the BPF filter): ${err.message}`)));
    tcpdump.on("exit", (code) => {
      if (code !== 0) tcpdump.stdout.destroy(new Error(`tcpdump -r ${this.cfg.path} "${this.cfg.filter}": ${stderr.trim() || `exit ${code}`}`));
    });
    return tcpdump.stdout;
  }

  private async run(emit: FlowEmitter, flows: PacketFlows): Promise<void> {
    let last = 0;
    const parser = new CaptureParser(this.cfg.path, (data, start, end, length, time, linkType) => {
      flows.frame(data, start, end, length, time, linkType);
      last = time;
    });
    const t0 = Date.now();
    for await (const chunk of this.source()) {
      if (!this.running) break;
      parser.push(chunk as Buffer);
      const out = flows.drain();
      if (out.length > 0) await emit(out);
    }
    const packets = parser.end();
    flows.table.flush(last);
    const out = flows.drain();
    if (out.length > 0) await emit(out);
    this.deps.log.info({ probe: this.id, file: this.cfg.path, packets, flows: flows.table.stats.flowsCreated, ms: Date.now() - t0 }, "capture file replayed");
  }

  done(): Promise<void> {
    return this.finished;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.finished.catch(() => undefined);
  }
}
