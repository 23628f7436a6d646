export * from "./agent.js";
export * from "./config.js";
export * from "./publisher.js";
export * from "./probes/flow/types.js";
export { flowProbes } from "./probes/flow/registry.js";
