export * from "./catalog.js";
export * from "./codec.js";
export * from "./container.js";
export * from "./topics.js";
export * from "./validate.js";
export type * from "./types.generated.js";
