// The topology canvas: the views core drawn at the device's resolution, pan by dragging, zoom with the
// wheel about the cursor, click to select, double-click an owner to fold or unfold it.
import {
  buildModel,
  draw,
  fit,
  hitTest,
  layoutTopology,
  screenToWorld,
  zoomAt,
  type ApiGraph,
  type Layout,
  type TopologyModel,
  type Viewport,
} from "@skystream/views";

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

  constructor(private readonly canvas: HTMLCanvasElement) {
    new ResizeObserver(() => this.redraw()).observe(canvas);
    let drag: { x: number; y: number; moved: boolean } | undefined;
    canvas.addEventListener("pointerdown", (e) => {
      drag = { x: e.clientX, y: e.clientY, moved: false };
      canvas.setPointerCapture(e.pointerId);
    });
    canvas.addEventListener("pointermove", (e) => {
      if (!drag) return;
      const dx = e.clientX - drag.x;
      const dy = e.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 2) drag.moved = true;
      this.vp = { ...this.vp, tx: this.vp.tx + dx, ty: this.vp.ty + dy };
      drag.x = e.clientX;
      drag.y = e.clientY;
      this.redraw();
    });
    canvas.addEventListener("pointerup", (e) => {
      if (drag && !drag.moved) {
        this.selected = this.at(e);
        this.onSelect(this.selected);
        this.redraw();
      }
      drag = undefined;
    });
    canvas.addEventListener("dblclick", (e) => {
      const id = this.at(e);
      if (!id || this.model.nodes.get(id)!.children.length === 0) return;
      if (this.collapsed.has(id)) this.collapsed.delete(id);
      else this.collapsed.add(id);
      this.relayout();
    });
    canvas.addEventListener(
      "wheel",
      (e) => {
        e.preventDefault();
        const r = canvas.getBoundingClientRect();
        this.vp = zoomAt(this.vp, Math.exp(-e.deltaY / 500), e.clientX - r.left, e.clientY - r.top);
        this.redraw();
      },
      { passive: false },
    );
  }

  private at(e: MouseEvent): string | undefined {
    const r = this.canvas.getBoundingClientRect();
    const [x, y] = screenToWorld(this.vp, e.clientX - r.left, e.clientY - r.top);
    return hitTest(this.layout, x, y);
  }

  setGraph(g: ApiGraph): void {
    this.model = buildModel(g);
    this.relayout();
  }

  private relayout(): void {
    this.layout = layoutTopology(this.model, { collapsed: this.collapsed });
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
      const ctx = this.canvas.getContext("2d")!;
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      const t0 = performance.now();
      draw(ctx, this.model, this.layout, this.vp, { width: r.width, height: r.height, selected: this.selected, highlighted: this.highlighted });
      this.lastDrawMs = performance.now() - t0;
    });
  }
}
