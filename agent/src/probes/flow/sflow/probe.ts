// The sFlow v5 collector: a UDP receiver with a large receive buffer (receiver.ts); datagrams go to the
// SflowCollector, and every flush_interval the flow tables are advanced and their flows handed to the publisher.
import { errorMessage } from "@skystream/common";
import { loadFlowHasher } from "../../../flow/ids.js";
import { FlowHandOff, reportFlowsHeld } from "../../../flow/source.js";
import type { FlowEmitter, FlowProbe, FlowProbeDeps } from "../types.js";
import { SflowCollector, sflowCounters } from "./collector.js";
import { receiveDatagrams, type DatagramReceiver } from "./receiver.js";
import type { SflowConfig } from "./config.js";

export class SflowProbe implements FlowProbe {
  readonly id: string;
  readonly finite = false;
  private receiver?: DatagramReceiver;
  private timer?: NodeJS.Timeout;
  private collector?: SflowCollector;
  private handOff?: FlowHandOff;
  /** Bound address once listening (the port may have been 0). */
  address = "";

  constructor(
    private readonly cfg: SflowConfig,
    private readonly deps: FlowProbeDeps,
  ) {
    this.id = deps.id;
  }

  async start(emit: FlowEmitter): Promise<void> {
    await loadFlowHasher();
    const { deps } = this;
    const handOff = (this.handOff = new FlowHandOff(emit, (err) => deps.log.error({ probe: this.id, err: errorMessage(err) }, "emitting sFlow flows failed")));
    const collector = (this.collector = new SflowCollector({
      probe: this.id,
      hostId: deps.hostId,
      table: deps.table,
      graph: deps.graph,
      counters: sflowCounters(deps.metrics),
      captureID: this.cfg.capture_id || undefined,
      nodeTID: this.cfg.node_tid || undefined,
      onInvalid: deps.deadLetter ? (data, reason, error) => deps.deadLetter!(data, reason, error) : undefined,
    }));
    reportFlowsHeld(deps.metrics, this.id, () => collector.flowsHeld);
    const i = this.cfg.listen.lastIndexOf(":");
    const host = this.cfg.listen.slice(0, i).replace(/^\[|\]$/g, "");
    const port = Number(this.cfg.listen.slice(i + 1));
    const receiver = (this.receiver = await receiveDatagrams(
      host,
      port,
      this.cfg.receive_buffer,
      (d) => collector.datagram(d, Date.now()),
      (err) => deps.log.error({ probe: this.id, err: errorMessage(err) }, "sFlow receiver error"),
    ));
    this.address = receiver.address;
    deps.log.info({ probe: this.id, listen: this.address, receive_buffer: receiver.receiveBuffer, receiver: receiver.kind }, "sFlow collector listening");
    this.timer = setInterval(() => handOff.hand(collector.advance(Date.now())), this.cfg.flush_interval);
  }

  /** The collector, for tests: totals and tables. */
  get stats(): SflowCollector["totals"] | undefined {
    return this.collector?.totals;
  }

  done(): Promise<void> {
    return new Promise(() => {});
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.receiver?.close();
    if (this.collector) this.handOff?.hand(this.collector.flush(Date.now()));
    await this.handOff?.settled();
  }
}
