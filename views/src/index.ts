export * from "./topology/model.js";
export * from "./topology/layout.js";
export * from "./topology/render.js";
export * from "./topology/frames.js";
export * from "./topology/canvas-view.js";
export * from "./flows/matrix.js";
