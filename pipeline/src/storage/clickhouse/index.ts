export * from "./config.js";
export * from "./storage.js";
export * from "./migrations.js";
export * from "./flows-table.js";
export * from "./ledger.js";
export * from "./topology.js";
