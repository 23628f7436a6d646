// A flow probe that makes flows up: deterministic TCP conversations between 198.18.0.0/15 addresses,
// for trying the pipeline without capture rights, for tests and for benchmarks. Said plainly in the
// records: CaptureType "synthetic".
import { syntheticFlow } from "@skystream/schemas/testing/flows";
import type { FlowEmitter, FlowProbe, FlowProbeDeps } from "../types.js";
import type { SyntheticConfig } from "./config.js";

export class SyntheticFlowProbe implements FlowProbe {
  readonly id: string;
  private running = false;
  private finished!: Promise<void>;

  constructor(
    private readonly cfg: SyntheticConfig,
    private readonly deps: FlowProbeDeps,
  ) {
    this.id = deps.id;
  }

  get finite(): boolean {
    return this.cfg.count > 0;
  }

  async start(emit: FlowEmitter): Promise<void> {
    this.running = true;
    this.finished = this.loop(emit);
    this.deps.log.info({ probe: this.id, rate: this.cfg.rate, count: this.cfg.count }, "synthetic flow probe started");
  }

  private async loop(emit: FlowEmitter): Promise<void> {
    const { rate, count, chunk, conversations } = this.cfg;
    const t0 = Date.now();
    let i = 0;
    while (this.running && (count === 0 || i < count)) {
      const n = count === 0 ? chunk : Math.min(chunk, count - i);
      const now = Date.now();
      const flows = Array.from({ length: n }, (_, k) => syntheticFlow(i + k, now, this.deps.hostId, conversations));
      await emit(flows);
      i += n;
      if (rate > 0) {
        const ahead = (i / rate) * 1000 - (Date.now() - t0);
        if (ahead > 0) await new Promise((r) => setTimeout(r, ahead));
      } else {
        await new Promise((r) => setImmediate(r));
      }
    }
  }

  done(): Promise<void> {
    return this.finished;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.finished;
  }
}
