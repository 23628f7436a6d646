// Draws a laid-out topology on a 2D canvas, for thousands of nodes: only what is on screen, an owner too
// small to read drawn as one block (what it holds skipped), labels only where they fit, links between
// the boxes shown. Also the view's geometry: fitting, zooming about a point, hit testing.
import type { TopologyModel, NodeState } from "./model.js";
import { shownBox, type Box, type Layout } from "./layout.js";
import { linkThickness } from "./frames.js";
import { formatBitrate } from "../flows/matrix.js";

/** screen = world × scale + (tx, ty) */
export interface Viewport {
  tx: number;
  ty: number;
  scale: number;
}

export interface Theme {
  background: string;
  text: string;
  groupFill: [string, string];
  groupStroke: string;
  state: Record<NodeState, string>;
  link: Record<string, string>;
  highlight: string;
  selected: string;
}

export const LIGHT: Theme = {
  background: "#ffffff",
  text: "#1f2328",
  groupFill: ["#f3f5f8", "#e8ecf2"],
  groupStroke: "#9aa5b1",
  state: { up: "#2e9e4f", down: "#d1352b", unknown: "#8a939d" },
  link: { layer2: "#3b6fd4", default: "#8a63d2" },
  highlight: "#f5a623",
  selected: "#111111",
};

/** The canvas calls used (a CanvasRenderingContext2D has them all; tests record them). */
export type Ctx = Pick<
  CanvasRenderingContext2D,
  | "fillStyle"
  | "strokeStyle"
  | "lineWidth"
  | "font"
  | "textBaseline"
  | "fillRect"
  | "strokeRect"
  | "fillText"
  | "beginPath"
  | "moveTo"
  | "lineTo"
  | "stroke"
  | "setLineDash"
>;

export interface DrawOptions {
  width: number;
  height: number;
  theme?: Theme;
  selected?: string;
  /** Nodes to outline (a search's matches). */
  highlighted?: ReadonlySet<string>;
}

export interface DrawStats {
  boxes: number;
  labels: number;
  links: number;
}

/** Below this many screen pixels an owner is one block. */
const MIN_GROUP_PX = 24;
/** Text needs this many pixels of box height. */
const MIN_LABEL_PX = 11;

export function draw(ctx: Ctx, model: TopologyModel, layout: Layout, vp: Viewport, opts: DrawOptions): DrawStats {
  const theme = opts.theme ?? LIGHT;
  const stats: DrawStats = { boxes: 0, labels: 0, links: 0 };
  ctx.fillStyle = theme.background;
  ctx.fillRect(0, 0, opts.width, opts.height);
  // The world rectangle on screen.
  const x0 = -vp.tx / vp.scale;
  const y0 = -vp.ty / vp.scale;
  const x1 = (opts.width - vp.tx) / vp.scale;
  const y1 = (opts.height - vp.ty) / vp.scale;
  const visible = (b: { x: number; y: number; w: number; h: number }) => b.x < x1 && b.x + b.w > x0 && b.y < y1 && b.y + b.h > y0;
  const fontPx = Math.min(13, Math.max(9, 12 * vp.scale));
  ctx.font = `${fontPx}px sans-serif`;
  ctx.textBaseline = "middle";
  const label = (text: string, b: Box, sx: number, sy: number, sw: number, sh: number) => {
    if (sh < MIN_LABEL_PX) return;
    const fits = Math.floor((sw - 8) / (fontPx * 0.6));
    if (fits < 3) return;
    ctx.fillStyle = theme.text;
    ctx.fillText(text.length > fits ? `${text.slice(0, fits - 1)}…` : text, sx + 4, b.group ? sy + Math.min(sh, 22 * vp.scale) / 2 : sy + sh / 2);
    stats.labels++;
  };

  const order = layout.order;
  for (let i = 0; i < order.length;) {
    const id = order[i]!;
    const b = layout.boxes.get(id)!;
    if (!visible(b)) {
      i = b.end;
      continue;
    }
    const n = model.nodes.get(id)!;
    const sx = b.x * vp.scale + vp.tx;
    const sy = b.y * vp.scale + vp.ty;
    const sw = b.w * vp.scale;
    const sh = b.h * vp.scale;
    stats.boxes++;
    const tiny = b.group && Math.min(sw, sh) < MIN_GROUP_PX;
    if (b.group && !tiny) {
      ctx.fillStyle = theme.groupFill[b.depth % 2]!;
      ctx.fillRect(sx, sy, sw, sh);
      ctx.strokeStyle = n.state === "down" ? theme.state.down : theme.groupStroke;
      ctx.lineWidth = 1;
      ctx.strokeRect(sx, sy, sw, sh);
      label(`${n.name} · ${n.type}`, b, sx, sy, sw, sh);
      i++;
    } else {
      ctx.fillStyle = b.group ? theme.groupStroke : theme.state[n.state];
      ctx.fillRect(sx, sy, sw, sh);
      label(b.hidden ? `${n.name} (+${b.hidden})` : n.name, b, sx, sy, sw, sh);
      // A tiny owner stands for all it holds.
      i = tiny ? b.end : i + 1;
    }
    if (opts.highlighted?.has(id) || opts.selected === id) {
      ctx.strokeStyle = opts.selected === id ? theme.selected : theme.highlight;
      ctx.lineWidth = 3;
      ctx.strokeRect(sx - 2, sy - 2, sw + 4, sh + 4);
    }
  }

  // Links, one path per style (colour, dash, width): one stroke for thousands of segments instead of one
  // each. Their traffic labels after, over them.
  const paths = new Map<string, { colour: string; dashed: boolean; width: number; xy: number[] }>();
  const labels: { text: string; x: number; y: number }[] = [];
  for (const l of model.links) {
    const a = shownBox(model, layout, l.source);
    const c = shownBox(model, layout, l.target);
    if (!a || !c || a[0] === c[0]) continue;
    const [ax, ay] = [a[1].x + a[1].w / 2, a[1].y + a[1].h / 2];
    const [cx, cy] = [c[1].x + c[1].w / 2, c[1].y + c[1].h / 2];
    if (!visible({ x: Math.min(ax, cx), y: Math.min(ay, cy), w: Math.abs(cx - ax) + 1e-9, h: Math.abs(cy - ay) + 1e-9 })) continue;
    const colour = theme.link[l.relation] ?? theme.link.default!;
    const dashed = l.relation !== "layer2";
    const width = Math.max(1, 1.5 * Math.min(1, vp.scale)) * linkThickness(l.bps);
    const key = `${colour}|${dashed ? 1 : 0}|${width}`;
    let path = paths.get(key);
    if (!path) paths.set(key, (path = { colour, dashed, width, xy: [] }));
    const [sax, say, scx, scy] = [ax * vp.scale + vp.tx, ay * vp.scale + vp.ty, cx * vp.scale + vp.tx, cy * vp.scale + vp.ty];
    path.xy.push(sax, say, scx, scy);
    stats.links++;
    // Traffic over the link, at its middle, when the link is long enough on screen to carry a label.
    if (l.bps && Math.hypot(scx - sax, scy - say) > 90) labels.push({ text: formatBitrate(l.bps), x: (sax + scx) / 2 + 4, y: (say + scy) / 2 - 8 });
  }
  for (const p of paths.values()) {
    ctx.strokeStyle = p.colour;
    ctx.lineWidth = p.width;
    ctx.setLineDash(p.dashed ? [6, 4] : []);
    ctx.beginPath();
    for (let i = 0; i < p.xy.length; i += 4) {
      ctx.moveTo(p.xy[i]!, p.xy[i + 1]!);
      ctx.lineTo(p.xy[i + 2]!, p.xy[i + 3]!);
    }
    ctx.stroke();
  }
  ctx.fillStyle = theme.text;
  for (const t of labels) {
    ctx.fillText(t.text, t.x, t.y);
    stats.labels++;
  }
  ctx.setLineDash([]);
  return stats;
}

/** The viewport showing the whole layout in width × height, with a margin. */
export function fit(layout: Layout, width: number, height: number, margin = 20): Viewport {
  const scale = Math.min((width - 2 * margin) / Math.max(1, layout.width), (height - 2 * margin) / Math.max(1, layout.height), 2);
  return { scale, tx: (width - layout.width * scale) / 2, ty: (height - layout.height * scale) / 2 };
}

/** Zoom by `factor` keeping the world point under the screen point (sx, sy) where it is. */
export function zoomAt(vp: Viewport, factor: number, sx: number, sy: number, min = 0.001, max = 8): Viewport {
  const scale = Math.min(max, Math.max(min, vp.scale * factor));
  const k = scale / vp.scale;
  return { scale, tx: sx - (sx - vp.tx) * k, ty: sy - (sy - vp.ty) * k };
}

export function screenToWorld(vp: Viewport, sx: number, sy: number): [number, number] {
  return [(sx - vp.tx) / vp.scale, (sy - vp.ty) / vp.scale];
}

/** The deepest shown node whose box holds the world point. */
export function hitTest(layout: Layout, wx: number, wy: number): string | undefined {
  let found: string | undefined;
  const order = layout.order;
  for (let i = 0; i < order.length;) {
    const b = layout.boxes.get(order[i]!)!;
    if (wx >= b.x && wx <= b.x + b.w && wy >= b.y && wy <= b.y + b.h) {
      found = order[i];
      i++; // look inside
    } else i = b.end;
  }
  return found;
}
