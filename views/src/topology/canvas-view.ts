// The topology canvas, shared by the web UI and the Grafana panel: the views core drawn at the device's
// resolution, pan by dragging, zoom with the wheel about the cursor, click to select, double-click an
// owner to fold or unfold it.
import { buildModel, type ApiGraph, type TopologyModel } from "./model.js";
import { layoutTopology, type Layout } from "./layout.js";
import { draw, fit, hitTest, screenToWorld, zoomAt, LIGHT, type Theme, type Viewport } from "./render.js";

export class GraphView {
  model: TopologyModel = buildModel({ Nodes: [], Edges: [] });
  private layout: Layout = layoutTopology(this.model);
  private vp: Viewport = { tx: 0, ty: 0, scale: 1 };
  private fitted = false;
  private readonly collapsed = new Set<string>();
  highlighted = new Set<string>();
  selected?: string;
  onSelect: (id: string | undefined) => void = () => {};
  private frame = 0;
  /** Time the last draw took (ms), for the page's status. */
  lastDrawMs = 0;
  /** Time the last layout took (ms). */
  lastLayoutMs = 0;
  theme: Theme = LIGHT;
  private readonly resize = new ResizeObserver(() => this.redraw());
  private readonly abort = new AbortController();

  constructor(private readonly canvas: HTMLCanvasElement) {
    this.resize.observe(canvas);
    const { signal } = this.abort;
    let drag: { x: number; y: number; moved: boolean } | undefined;
    canvas.addEventListener(
      "pointerdown",
      (e) => {
        drag = { x: e.clientX, y: e.clientY, moved: false };
        canvas.setPointerCapture(e.pointerId);
      },
      { signal },
    );
    canvas.addEventListener(
      "pointermove",
      (e) => {
        if (!drag) return;
        const dx = e.clientX - drag.x;
        const dy = e.clientY - drag.y;
        if (Math.abs(dx) + Math.abs(dy) > 2) drag.moved = true;
        this.vp = { ...this.vp, tx: this.vp.tx + dx, ty: this.vp.ty + dy };
        drag.x = e.clientX;
        drag.y = e.clientY;
        this.redraw();
      },
      { signal },
    );
    canvas.addEventListener(
      "pointerup",
      (e) => {
        if (drag && !drag.moved) {
          this.selected = this.at(e);
          this.onSelect(this.selected);
          this.redraw();
        }
        drag = undefined;
      },
      { signal },
    );
    canvas.addEventListener(
      "dblclick",
      (e) => {
        const id = this.at(e);
        if (!id || this.model.nodes.get(id)!.children.length === 0) return;
        if (this.collapsed.has(id)) this.collapsed.delete(id);
        else this.collapsed.add(id);
        this.relayout();
      },
      { signal },
    );
    canvas.addEventListener(
      "wheel",
      (e) => {
        e.preventDefault();
        const r = canvas.getBoundingClientRect();
        this.vp = zoomAt(this.vp, Math.exp(-e.deltaY / 500), e.clientX - r.left, e.clientY - r.top);
        this.redraw();
      },
      { passive: false, signal },
    );
  }

  private at(e: MouseEvent): string | undefined {
    const r = this.canvas.getBoundingClientRect();
    const [x, y] = screenToWorld(this.vp, e.clientX - r.left, e.clientY - r.top);
    return hitTest(this.layout, x, y);
  }

  setGraph(g: ApiGraph): void {
    this.setModel(buildModel(g));
  }

  setModel(model: TopologyModel): void {
    this.model = model;
    this.relayout();
  }

  /** Stops listening to the canvas (the panel's component unmounting). */
  destroy(): void {
    this.abort.abort();
    this.resize.disconnect();
    if (this.frame) cancelAnimationFrame(this.frame);
  }

  /** The current viewport, and setting it (pans and zooms from outside: tests, the benchmark). */
  get viewport(): Viewport {
    return this.vp;
  }

  set viewport(vp: Viewport) {
    this.vp = vp;
    this.redraw();
  }

  private relayout(): void {
    const t0 = performance.now();
    this.layout = layoutTopology(this.model, { collapsed: this.collapsed });
    this.lastLayoutMs = performance.now() - t0;
    if (!this.fitted && this.model.nodes.size > 0) {
      this.fitted = true;
      this.fitAll();
    } else this.redraw();
  }

  fitAll(): void {
    const r = this.canvas.getBoundingClientRect();
    this.vp = fit(this.layout, r.width, r.height);
    this.redraw();
  }

  /** Centres the view on a node, zoomed so it can be read. */
  focus(id: string): void {
    const b = this.layout.boxes.get(id);
    if (!b) return;
    const r = this.canvas.getBoundingClientRect();
    const scale = Math.min(2, Math.max(0.5, Math.min(r.width / (b.w * 4), r.height / (b.h * 8))));
    this.vp = { scale, tx: r.width / 2 - (b.x + b.w / 2) * scale, ty: r.height / 2 - (b.y + b.h / 2) * scale };
    this.redraw();
  }

  redraw(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      const r = this.canvas.getBoundingClientRect();
      const dpr = window.devicePixelRatio || 1;
      if (this.canvas.width !== Math.round(r.width * dpr) || this.canvas.height !== Math.round(r.height * dpr)) {
        this.canvas.width = Math.round(r.width * dpr);
        this.canvas.height = Math.round(r.height * dpr);
      }
      const ctx = this.canvas.getContext("2d");
      if (!ctx) return; // no 2D canvas (a test's DOM)
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      const t0 = performance.now();
      draw(ctx, this.model, this.layout, this.vp, {
        width: r.width,
        height: r.height,
        theme: this.theme,
        selected: this.selected,
        highlighted: this.highlighted,
      });
      this.lastDrawMs = performance.now() - t0;
    });
  }
}
