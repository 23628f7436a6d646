// A browser-like global scope for the panel's tests under node's test runner: jsdom's window, document and
// events (Node's own Event classes are refused by jsdom's dispatchEvent), and the few browser APIs
// @grafana/ui touches on import or the canvas view uses (matchMedia, ResizeObserver, canvas → no context).
require('global-jsdom')(undefined, { url: 'http://localhost/', pretendToBeVisual: true });

const noop = () => {};
window.matchMedia = globalThis.matchMedia = (query) => ({
  matches: false,
  media: query,
  onchange: null,
  addListener: noop,
  removeListener: noop,
  addEventListener: noop,
  removeEventListener: noop,
  dispatchEvent: () => false,
});
window.HTMLCanvasElement.prototype.getContext = () => null;
globalThis.ResizeObserver ??= class {
  observe() {}
  unobserve() {}
  disconnect() {}
};
for (const k of [
  'Event',
  'CustomEvent',
  'EventTarget',
  'MessageEvent',
  'KeyboardEvent',
  'MouseEvent',
  'AbortController',
  'AbortSignal',
]) {
  globalThis[k] = window[k];
}
// Stylesheets imported by @grafana/ui mean nothing here.
for (const ext of ['.css', '.scss']) {
  require.extensions[ext] = (m) => {
    m.exports = {};
  };
}
