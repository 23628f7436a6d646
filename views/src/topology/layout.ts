// A nested layout that scales: every owner is a box holding its children, packed in rows (shelves) to a
// roughly square shape, hosts side by side the same way. Linear in the number of nodes (plus the sorts
// of the model), deterministic (the same graph gives the same positions, so a time-travelled graph does
// not jump), and a collapsed owner is one box with a count. Links (layer2, …) are drawn between boxes
// over it; they do not move anything.
import type { TopologyModel } from "./model.js";

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
  /** Ownership depth: 0 for a root. */
  depth: number;
  /** Has children shown inside it. */
  group: boolean;
  /** Has children hidden (collapsed): drawn as a leaf with a count. */
  hidden: number;
  /** Index in `order` just past its last descendant: skipping [index, end) skips what it holds. */
  end: number;
}

export interface Layout {
  boxes: Map<string, Box>;
  width: number;
  height: number;
  /** Ids in drawing order: owners before what they hold. */
  order: string[];
}

export interface LayoutOptions {
  /** Owners shown as one box. */
  collapsed?: ReadonlySet<string>;
  leafWidth?: number;
  leafHeight?: number;
  /** Space around and between boxes. */
  gap?: number;
  /** Height of a group's title bar. */
  header?: number;
}

interface Sized {
  w: number;
  h: number;
  /** Offsets of the children inside, in the children's order. */
  offsets: { x: number; y: number }[];
}

/** Packs sizes left to right in rows of about `target` width; the offsets and the whole size. */
function shelves(sizes: { w: number; h: number }[], gap: number): { offsets: { x: number; y: number }[]; w: number; h: number } {
  const area = sizes.reduce((s, b) => s + (b.w + gap) * (b.h + gap), 0);
  const widest = sizes.reduce((m, b) => Math.max(m, b.w), 0);
  const target = Math.max(widest, Math.sqrt(area) * 1.3);
  const offsets: { x: number; y: number }[] = [];
  let x = 0;
  let y = 0;
  let rowH = 0;
  let w = 0;
  for (const b of sizes) {
    if (x > 0 && x + b.w > target) {
      y += rowH + gap;
      x = 0;
      rowH = 0;
    }
    offsets.push({ x, y });
    x += b.w + gap;
    rowH = Math.max(rowH, b.h);
    w = Math.max(w, x - gap);
  }
  return { offsets, w, h: sizes.length ? y + rowH : 0 };
}

export function layoutTopology(model: TopologyModel, opts: LayoutOptions = {}): Layout {
  const leafW = opts.leafWidth ?? 132;
  const leafH = opts.leafHeight ?? 26;
  const gap = opts.gap ?? 10;
  const header = opts.header ?? 22;
  const collapsed = opts.collapsed ?? new Set<string>();
  const sized = new Map<string, Sized>();

  // Sizes bottom-up (children before their owner), without recursion: a post-order walk.
  const size = (root: string) => {
    const stack: [string, boolean][] = [[root, false]];
    while (stack.length) {
      const [id, done] = stack.pop()!;
      const n = model.nodes.get(id)!;
      const open = n.children.length > 0 && !collapsed.has(id);
      if (!open) {
        sized.set(id, { w: leafW, h: leafH, offsets: [] });
        continue;
      }
      if (!done) {
        stack.push([id, true]);
        for (const c of n.children) stack.push([c, false]);
        continue;
      }
      const packed = shelves(
        n.children.map((c) => sized.get(c)!),
        gap,
      );
      sized.set(id, { w: Math.max(leafW, packed.w + 2 * gap), h: header + packed.h + gap, offsets: packed.offsets });
    }
  };
  for (const r of model.roots) size(r);

  const top = shelves(
    model.roots.map((r) => sized.get(r)!),
    gap * 3,
  );
  const boxes = new Map<string, Box>();
  const order: string[] = [];
  // Positions top-down.
  const stack: { id: string; x: number; y: number; depth: number }[] = model.roots
    .map((id, i) => ({ id, x: top.offsets[i]!.x, y: top.offsets[i]!.y, depth: 0 }))
    .reverse();
  while (stack.length) {
    const { id, x, y, depth } = stack.pop()!;
    const s = sized.get(id)!;
    const n = model.nodes.get(id)!;
    const open = s.offsets.length > 0;
    boxes.set(id, { x, y, w: s.w, h: s.h, depth, group: open, hidden: open ? 0 : countBelow(model, id), end: order.length + 1 });
    order.push(id);
    if (open)
      for (let i = n.children.length - 1; i >= 0; i--)
        stack.push({ id: n.children[i]!, x: x + gap + s.offsets[i]!.x, y: y + header + s.offsets[i]!.y, depth: depth + 1 });
  }
  // Each box's subtree end: from the last node back, an owner ends where its last descendant does.
  for (let i = order.length - 1; i >= 0; i--) {
    const b = boxes.get(order[i]!)!;
    const parent = model.nodes.get(order[i]!)!.parent;
    const pb = parent === undefined ? undefined : boxes.get(parent);
    if (pb) pb.end = Math.max(pb.end, b.end);
  }
  return { boxes, width: top.w, height: top.h, order };
}

/** The box a node is drawn in: its own, or its nearest shown owner's when an owner is collapsed. */
export function shownBox(model: TopologyModel, layout: Layout, id: string): [string, Box] | undefined {
  for (let cur: string | undefined = id; cur !== undefined; cur = model.nodes.get(cur)?.parent) {
    const b = layout.boxes.get(cur);
    if (b) return [cur, b];
  }
  return undefined;
}

/** How many nodes a box stands for beyond itself (a collapsed owner's). */
function countBelow(model: TopologyModel, id: string): number {
  let n = 0;
  const stack = [...model.nodes.get(id)!.children];
  while (stack.length) {
    n++;
    stack.push(...model.nodes.get(stack.pop()!)!.children);
  }
  return n;
}
