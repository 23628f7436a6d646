export * from "./topology/model.js";
export * from "./topology/layout.js";
export * from "./topology/render.js";
export * from "./topology/frames.js";
