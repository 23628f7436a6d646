export * from "./agent.js";
export * from "./config.js";
export * from "./publisher.js";
export * from "./probes/flow/types.js";
export { flowProbes } from "./probes/flow/registry.js";
export { nodeFromAvro, edgeFromAvro, nodeToAvro, edgeToAvro } from "./graph/delta.js";
export type { GraphNode, GraphEdge, Metadata } from "./graph/graph.js";
export type { Socket } from "./probes/topology/socketinfo/probe.js";
