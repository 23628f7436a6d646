// The render benchmark's page: the shared GraphView on a full-window canvas, driven from requestAnimationFrame
// the way a user's drag or wheel drives it (the viewport set once per frame, GraphView coalescing its own
// redraw into the next frame). bench/render.ts bundles this with esbuild and calls `skyRender` through
// Playwright. Times are performance.now / rAF timestamps in the page.
import { GraphView, draw, layoutTopology, zoomAt, type ApiGraph, type Box, type DrawStats, type Viewport } from "@skystream/views";
import { syntheticTopology } from "./synthetic.ts";

export interface LoadFigures {
  nodes: number;
  edges: number;
  links: number;
  hosts: number;
  /** JSON.parse of the graph as the API sends it (the reference). */
  parseMs: number;
  /** GraphView.setGraph: buildModel + layout. */
  setGraphMs: number;
  /** The layout alone (GraphView.lastLayoutMs). */
  layoutMs: number;
  /** The first draw (GraphView.lastDrawMs), fitted to the window. */
  firstDrawMs: number;
  /** From setGraph to the end of the frame holding the first draw. */
  firstFrameMs: number;
}

export interface FrameFigures {
  frames: number;
  /** Draws GraphView made meanwhile (one per frame when it keeps up). */
  draws: number;
  fps: number;
  p50FrameMs: number;
  p95FrameMs: number;
  maxFrameMs: number;
  p95DrawMs: number;
  /** Scale range covered. */
  minScale: number;
  maxScale: number;
}

export type ViewName = "fit" | "host";

export interface RenderApi {
  emptyLoop(ms: number): Promise<FrameFigures>;
  load(nodes: number): Promise<LoadFigures>;
  pan(ms: number, from: ViewName): Promise<FrameFigures>;
  zoom(ms: number): Promise<FrameFigures>;
  show(view: ViewName): Promise<DrawStats & { scale: number }>;
}

declare global {
  interface Window {
    skyRender: RenderApi;
  }
}

const canvas = document.querySelector("canvas")!;
const view = new GraphView(canvas);
// GraphView sets the transform once per draw: counting those counts draws without touching the view.
const ctx = canvas.getContext("2d")!;
let draws = 0;
const setTransform = ctx.setTransform.bind(ctx) as (a: number, b: number, c: number, d: number, e: number, f: number) => void;
ctx.setTransform = ((a: number, b: number, c: number, d: number, e: number, f: number) => {
  draws++;
  setTransform(a, b, c, d, e, f);
}) as typeof ctx.setTransform;

let hostBox: Box | undefined;
let fitted: Viewport = view.viewport;

const frame = () => new Promise<number>((resolve) => requestAnimationFrame(resolve));
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
const screen = () => canvas.getBoundingClientRect();

/**
 * Runs a rAF loop for `ms`: each frame `step` (if any) sets the viewport, which has GraphView draw in the
 * next frame before this loop's next callback (registered after it), so each callback sees the draw of
 * its own frame. Frame times are the intervals between rAF timestamps: what the user sees.
 */
async function loop(ms: number, step?: (secs: number) => void): Promise<FrameFigures> {
  const stamps: number[] = [];
  const drawMs: number[] = [];
  let [minScale, maxScale] = [Infinity, 0];
  const start = await frame();
  const draws0 = draws;
  await new Promise<void>((resolve) => {
    const tick = (t: number) => {
      stamps.push(t);
      if (step && stamps.length > 1) drawMs.push(view.lastDrawMs);
      if (t - start >= ms) return resolve();
      if (step) {
        step((t - start) / 1000);
        minScale = Math.min(minScale, view.viewport.scale);
        maxScale = Math.max(maxScale, view.viewport.scale);
      }
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  const intervals = stamps
    .slice(1)
    .map((t, i) => t - stamps[i]!)
    .sort((a, b) => a - b);
  drawMs.sort((a, b) => a - b);
  return {
    frames: intervals.length,
    draws: draws - draws0,
    fps: (intervals.length * 1000) / (stamps.at(-1)! - stamps[0]!),
    p50FrameMs: pct(intervals, 50),
    p95FrameMs: pct(intervals, 95),
    maxFrameMs: intervals.at(-1) ?? 0,
    p95DrawMs: pct(drawMs, 95),
    minScale: step ? minScale : 0,
    maxScale: step ? maxScale : 0,
  };
}

function serialized(n: number): { json: { text?: string }; hosts: string[] } {
  const { graph, hosts } = syntheticTopology(n);
  return { json: { text: JSON.stringify(graph) }, hosts };
}

/** The viewport showing one host whole, its labels readable. */
function hostView(): Viewport {
  const b = hostBox!;
  const r = screen();
  const scale = Math.min(1.2, (r.width - 40) / b.w, (r.height - 40) / b.h);
  return { scale, tx: r.width / 2 - (b.x + b.w / 2) * scale, ty: r.height / 2 - (b.y + b.h / 2) * scale };
}

window.skyRender = {
  emptyLoop: (ms) => loop(ms),

  async load(n) {
    // The graph reaches setGraph as the UI's does, fresh out of JSON.parse; the generator's copy and the text
    // are dropped first, so the collector does not trace them during setGraph.
    const { json, hosts } = serialized(n);
    const p0 = performance.now();
    const parsed = JSON.parse(json.text!) as ApiGraph;
    const parseMs = performance.now() - p0;
    json.text = undefined;
    await frame();
    const t0 = performance.now();
    view.setGraph(parsed);
    const setGraphMs = performance.now() - t0;
    // GraphView's draw was requested first, so it has run when this frame's callback does.
    await frame();
    const firstFrameMs = performance.now() - t0;
    fitted = view.viewport;
    // The host in the middle of the layout: where the zoom goes in and the close-up pan starts. The layout is
    // deterministic, so this copy has GraphView's positions.
    const layout = layoutTopology(view.model);
    hostBox = layout.boxes.get(hosts[Math.floor(hosts.length / 2)]!);
    return {
      nodes: parsed.Nodes.length,
      edges: parsed.Edges.length,
      links: view.model.links.length,
      hosts: hosts.length,
      parseMs,
      setGraphMs,
      layoutMs: view.lastLayoutMs,
      firstDrawMs: view.lastDrawMs,
      firstFrameMs,
    };
  },

  /** Pans continuously: the whole topology in a 300 px circle, or from one host across its neighbours at 800 px/s. */
  async pan(ms, from) {
    const vp0 = from === "fit" ? fitted : hostView();
    view.viewport = vp0;
    await frame();
    return loop(ms, (s) => {
      const a = (2 * Math.PI * s) / 3;
      view.viewport =
        from === "fit"
          ? { ...vp0, tx: vp0.tx + 300 * Math.sin(a), ty: vp0.ty + 300 * (Math.cos(a) - 1) }
          : { ...vp0, tx: vp0.tx - 800 * s, ty: vp0.ty + 200 * Math.sin(a) };
    });
  },

  /** Zooms about the middle host's centre, from the fitted view (everything) to the host close up and back, 1.5 s a cycle. */
  async zoom(ms) {
    view.viewport = fitted;
    await frame();
    const b = hostBox!;
    const [sx, sy] = [(b.x + b.w / 2) * fitted.scale + fitted.tx, (b.y + b.h / 2) * fitted.scale + fitted.ty];
    const [lo, hi] = [Math.log(fitted.scale), Math.log(hostView().scale)];
    return loop(ms, (s) => {
      const target = Math.exp(lo + ((hi - lo) * (1 - Math.cos((2 * Math.PI * s) / 1.5))) / 2);
      view.viewport = zoomAt(view.viewport, target / view.viewport.scale, sx, sy);
    });
  },

  /** Sets a view for a screenshot; what draw() puts on it (counted on a scratch canvas). */
  async show(which) {
    view.viewport = which === "fit" ? fitted : hostView();
    await frame();
    await frame();
    const r = screen();
    const scratch = document.createElement("canvas");
    scratch.width = r.width;
    scratch.height = r.height;
    const stats = draw(scratch.getContext("2d")!, view.model, layoutTopology(view.model), view.viewport, { width: r.width, height: r.height });
    return { ...stats, scale: view.viewport.scale };
  },
};
document.body.dataset.ready = "1";
