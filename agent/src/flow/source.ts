// What every packet source shares: frames are decoded by link type and counted into a flow table, with
// counters by probe (packets, bytes, undecodable frames by reason, flows held, evicted).
import { Counter, Gauge, sharedMetric, type MetricsRegistry } from "@skystream/common";
import type { FlowRecord } from "@skystream/schemas";
import type { FlowTableConfig } from "./config.js";
import { FrameView, parseFrame } from "./packet.js";
import { FlowTable, type CapturePoint } from "./table.js";

export interface PacketCounters {
  packets: Counter<"probe">;
  undecodable: Counter<"probe" | "reason">;
}

/** Frames or datagrams skipped, by probe and reason (one counter for every packet source). */
export function undecodableCounter(registry: MetricsRegistry): Counter<"probe" | "reason"> {
  return sharedMetric(
    registry,
    "skystream_agent_packets_undecodable_total",
    () =>
      new Counter({
        name: "skystream_agent_packets_undecodable_total",
        help: "Frames or datagrams skipped, by reason (unknown_linktype, and the sFlow decoder's reasons)",
        labelNames: ["probe", "reason"],
        registers: [registry],
      }),
  );
}

export function packetCounters(registry: MetricsRegistry): PacketCounters {
  return {
    packets: sharedMetric(
      registry,
      "skystream_agent_packets_total",
      () => new Counter({ name: "skystream_agent_packets_total", help: "Packets counted into flow tables", labelNames: ["probe"], registers: [registry] }),
    ),
    undecodable: undecodableCounter(registry),
  };
}

/** One flow table fed with captured frames. */
export class PacketFlows {
  readonly table: FlowTable;
  private counted = 0;
  private readonly view = new FrameView();

  constructor(
    cfg: FlowTableConfig,
    point: CapturePoint,
    private readonly probe: string,
    private readonly counters: PacketCounters,
  ) {
    this.table = new FlowTable(cfg, point);
  }

  /** Decodes bytes [start, end) of `data`, a frame of that link type, and counts it at `time` (ms); `length` is its length on the wire. */
  frame(data: Uint8Array, start: number, end: number, length: number, time: number, linkType: number): void {
    if (!parseFrame(linkType, data, start, end, this.view)) {
      this.counters.undecodable.inc({ probe: this.probe, reason: "unknown_linktype" });
      return;
    }
    this.table.frame(this.view, time, length);
    // Batched: a counter increment per packet would cost more than the flow table does.
    if (++this.counted === 4096) this.sync();
  }

  /** Brings the packet counter up to date. */
  sync(): void {
    if (this.counted > 0) this.counters.packets.inc({ probe: this.probe }, this.counted);
    this.counted = 0;
  }

  drain(): FlowRecord[] {
    this.sync();
    return this.table.drain();
  }
}

const heldBy = new WeakMap<MetricsRegistry, Map<string, () => number>>();

/** Reports the probe's flows held (skystream_agent_flows_held{probe}), read from `held` when scraped. */
export function reportFlowsHeld(registry: MetricsRegistry, probe: string, held: () => number): void {
  let probes = heldBy.get(registry);
  if (!probes) heldBy.set(registry, (probes = new Map()));
  probes.set(probe, held);
  const all = probes;
  sharedMetric(
    registry,
    "skystream_agent_flows_held",
    () =>
      new Gauge({
        name: "skystream_agent_flows_held",
        help: "Flows in the probe's flow tables",
        labelNames: ["probe"],
        registers: [registry],
        collect() {
          for (const [id, fn] of all) this.set({ probe: id }, fn());
        },
      }),
  );
}

/**
 * Hands a live probe's flows to the publisher one batch after another, in order: a slow publisher delays
 * the next hand-over, never reorders them; a failed one is reported and the next goes on.
 */
export class FlowHandOff {
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly emit: (flows: FlowRecord[]) => Promise<void>,
    private readonly onError: (err: unknown) => void,
  ) {}

  hand(flows: FlowRecord[]): void {
    if (flows.length === 0) return;
    this.chain = this.chain.then(() => this.emit(flows)).catch(this.onError);
  }

  /** Resolves when everything handed so far is accepted (or reported). */
  settled(): Promise<void> {
    return this.chain;
  }
}
