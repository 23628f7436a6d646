import type { FlowRecord } from "@skystream/schemas";
import type { Factory, Logger, MetricsRegistry } from "@skystream/common";
import type { FlowTableConfig } from "../../flow/config.js";
import type { Graph } from "../../graph/graph.js";

/** Where a flow probe hands its flows; resolves when they are accepted (the probe's backpressure). */
export type FlowEmitter = (flows: FlowRecord[]) => Promise<void>;

export interface FlowProbeDeps {
  id: string;
  hostId: string;
  log: Logger;
  metrics: MetricsRegistry;
  /** The agent's graph: where probes find the node a capture is on, and put counters they learn. */
  graph: Graph;
  /** Flow table settings (agent.flow.table) for probes that build flows from packets. */
  table: FlowTableConfig;
  /** Sends bad input (an undecodable datagram) to the dead-letter topic with the reason; absent in --print mode. */
  deadLetter?: (data: Uint8Array, reason: string, error: string) => void;
}

export interface FlowProbe {
  readonly id: string;
  /** True when the probe stops by itself (a replayed file, a bounded generator). */
  readonly finite: boolean;
  start(emit: FlowEmitter): Promise<void>;
  stop(): Promise<void>;
  /** Resolves when a finite probe has emitted everything (a live probe never resolves). */
  done(): Promise<void>;
}

export type FlowProbeFactory<C = any> = Factory<C, FlowProbeDeps, FlowProbe>;
