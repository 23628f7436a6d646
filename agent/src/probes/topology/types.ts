import type { Factory, Logger, MetricsRegistry } from "@skystream/common";
import type { Graph } from "../../graph/graph.js";

export interface TopologyProbeDeps {
  id: string;
  hostId: string;
  graph: Graph;
  log: Logger;
  metrics: MetricsRegistry;
}

/** A topology probe keeps its part of the graph true to what it observes, until stopped. */
export interface TopologyProbe {
  readonly id: string;
  /** Resolves once the probe's first full view is in the graph. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export type TopologyProbeFactory<C = any> = Factory<C, TopologyProbeDeps, TopologyProbe>;
