// The topology view's core: the API's graph as an ownership tree with links, a nested layout (children
// inside their owner, siblings apart, collapsible, the same positions for the same graph), and a canvas
// renderer that draws only what is on screen and only the labels that fit; fitting, zooming, hit testing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildModel, type ApiGraph } from "./model.js";
import { layoutTopology, type Box } from "./layout.js";
import { draw, fit, hitTest, screenToWorld, zoomAt, type Ctx } from "./render.js";
import { fromNodeGraphFrames, toNodeGraphFrames } from "./frames.js";

/** hosts × namespaces × interfaces, ownership edges, a veth pair (layer2) between the first two namespaces of each host. */
function graph(hosts: number, namespaces: number, interfaces: number): ApiGraph {
  const g: ApiGraph = { Nodes: [], Edges: [] };
  const node = (ID: string, Type: string, Name: string, State = "UP") => g.Nodes.push({ ID, Host: "h", Metadata: { Type, Name, State } });
  const edge = (Parent: string, Child: string, RelationType: string) => g.Edges.push({ ID: `${Parent}>${Child}`, Parent, Child, Metadata: { RelationType } });
  for (let h = 0; h < hosts; h++) {
    node(`h${h}`, "host", `host-${h}`);
    for (let n = 0; n < namespaces; n++) {
      node(`h${h}n${n}`, "netns", `ns-${n}`);
      edge(`h${h}`, `h${h}n${n}`, "ownership");
      for (let i = 0; i < interfaces; i++) {
        node(`h${h}n${n}i${i}`, "veth", `eth${i}`, i === 1 ? "DOWN" : "UP");
        edge(`h${h}n${n}`, `h${h}n${n}i${i}`, "ownership");
      }
    }
    if (namespaces > 1 && interfaces > 0) edge(`h${h}n0i0`, `h${h}n1i0`, "layer2");
  }
  return g;
}

/** A canvas context that records what is drawn. */
function recorder(): Ctx & { rects: number; texts: string[]; lines: number } {
  const r = {
    fillStyle: "",
    strokeStyle: "",
    lineWidth: 1,
    font: "",
    textBaseline: "alphabetic",
    rects: 0,
    texts: [] as string[],
    lines: 0,
    fillRect() {
      r.rects++;
    },
    strokeRect() {},
    fillText(t: string) {
      r.texts.push(t);
    },
    beginPath() {},
    moveTo() {},
    lineTo() {},
    stroke() {
      r.lines++;
    },
    setLineDash() {},
  };
  return r as unknown as Ctx & { rects: number; texts: string[]; lines: number };
}

const inside = (a: Box, b: Box) => a.x >= b.x && a.y >= b.y && a.x + a.w <= b.x + b.w && a.y + a.h <= b.y + b.h;
const overlap = (a: Box, b: Box) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

test("model: ownership tree in a stable order, other relations as links, cycles and dangling edges dropped", () => {
  const g = graph(2, 2, 2);
  g.Edges.push({ ID: "zz-cycle", Parent: "h0n0i0", Child: "h0", Metadata: { RelationType: "ownership" } });
  g.Edges.push({ ID: "dangling", Parent: "h0", Child: "nowhere", Metadata: { RelationType: "layer2" } });
  const m = buildModel(g);
  assert.deepEqual(m.roots, ["h0", "h1"]);
  assert.deepEqual(m.nodes.get("h0n0")!.children, ["h0n0i0", "h0n0i1"]);
  assert.equal(m.nodes.get("h0")!.parent, undefined, "the cycle is broken where it would close");
  assert.deepEqual(
    m.links.map((l) => [l.source, l.target, l.relation]),
    [
      ["h0n0i0", "h0n1i0", "layer2"],
      ["h1n0i0", "h1n1i0", "layer2"],
    ],
  );
  assert.equal(m.nodes.get("h0n0i1")!.state, "down");
});

test("layout: children inside their owner, siblings apart, deterministic, collapsible; 50,000 nodes", () => {
  const m = buildModel(graph(3, 4, 5));
  const l = layoutTopology(m);
  for (const [id, b] of l.boxes) {
    const n = m.nodes.get(id)!;
    if (n.parent) assert.ok(inside(b, l.boxes.get(n.parent)!), `${id} inside ${n.parent}`);
    const siblings = n.parent ? m.nodes.get(n.parent)!.children : m.roots;
    for (const s of siblings) if (s !== id) assert.ok(!overlap(b, l.boxes.get(s)!), `${id} and ${s} apart`);
  }
  assert.deepEqual([...layoutTopology(buildModel(graph(3, 4, 5))).boxes], [...l.boxes], "same graph, same positions");
  assert.equal(l.order[0], "h0");
  assert.equal(l.boxes.get("h0")!.end, 1 + 4 + 4 * 5, "a host's subtree: itself, its namespaces and their interfaces");

  const folded = layoutTopology(m, { collapsed: new Set(["h1"]) });
  assert.equal(folded.boxes.get("h1")!.hidden, 4 + 20);
  assert.equal(folded.boxes.has("h1n0"), false, "what a collapsed host holds is not laid out");
  assert.ok(folded.boxes.get("h1")!.w < l.boxes.get("h1")!.w);

  const big = buildModel(graph(50, 100, 9)); // 50 + 5,000 + 45,000 nodes
  const t0 = performance.now();
  const bl = layoutTopology(big);
  const ms = performance.now() - t0;
  assert.equal(bl.boxes.size, 50_050);
  assert.ok(bl.width > 0 && bl.height > 0);
  console.log(`# laid out 50,050 nodes in ${ms.toFixed(0)} ms`);
});

test("render: only what is on screen, owners too small to read as one block, labels where they fit, links", () => {
  const m = buildModel(graph(50, 100, 9));
  const l = layoutTopology(m);
  const size = { width: 1200, height: 800 };
  // The whole graph fitted: hosts and their namespaces; each namespace too small to open: one block.
  const all = recorder();
  const whole = draw(all, m, l, fit(l, size.width, size.height), size);
  assert.ok(whole.boxes >= 50 && whole.boxes <= 5_050, `drew ${whole.boxes} boxes for 50,050 nodes: no interface`);
  // Zoomed into one namespace: its interfaces with their names, nothing far away.
  const ns = l.boxes.get("h7n42")!;
  const vp = { scale: 3, tx: -ns.x * 3 + 20, ty: -ns.y * 3 + 20 };
  const near = recorder();
  const close = draw(near, m, l, vp, size);
  assert.ok(close.boxes < 200, `drew ${close.boxes} boxes`);
  assert.ok(near.texts.includes("eth0") && near.texts.some((t) => t.startsWith("ns-42")), near.texts.slice(0, 10).join(","));
  assert.ok(!near.texts.includes("host-30"), "far hosts are not drawn");
  // The veth pair of host 0, both ends on screen.
  const h0 = l.boxes.get("h0")!;
  const links = draw(recorder(), m, l, { scale: 1, tx: -h0.x + 10, ty: -h0.y + 10 }, { width: h0.w + 20, height: h0.h + 20 });
  assert.equal(links.links, 1);
});

test("view geometry: fit shows everything, zoom keeps the point under the cursor, hit test finds the deepest box", () => {
  const m = buildModel(graph(2, 3, 4));
  const l = layoutTopology(m);
  const vp = fit(l, 800, 600);
  const [wx0, wy0] = screenToWorld(vp, 0, 0);
  const [wx1, wy1] = screenToWorld(vp, 800, 600);
  assert.ok(wx0 <= 0 && wy0 <= 0 && wx1 >= l.width && wy1 >= l.height, "the whole layout is on screen");
  const z = zoomAt(vp, 2.5, 300, 200);
  assert.deepEqual(
    screenToWorld(z, 300, 200).map((v) => Math.round(v * 1e6)),
    screenToWorld(vp, 300, 200).map((v) => Math.round(v * 1e6)),
  );
  const b = l.boxes.get("h1n2i3")!;
  assert.equal(hitTest(l, b.x + b.w / 2, b.y + b.h / 2), "h1n2i3");
  const ns = l.boxes.get("h1n2")!;
  assert.equal(hitTest(l, ns.x + 2, ns.y + 2), "h1n2", "the namespace's title bar");
  assert.equal(hitTest(l, -50, -50), undefined);
});

test("Node Graph frames: a model out and back gives the same tree and links; dangling edges dropped; the dashboards' SQL shape reads", () => {
  const m = buildModel(graph(2, 2, 3));
  const { nodes, edges } = toNodeGraphFrames(m);
  assert.equal(nodes.id!.length, m.nodes.size);
  assert.equal(edges.id!.length, m.nodes.size - m.roots.length + m.links.length, "one ownership edge per owned node, plus the links");
  assert.equal(nodes.color![nodes.id!.indexOf("h0n0i1")], "red");
  const back = buildModel(fromNodeGraphFrames(nodes, edges));
  assert.deepEqual(back.roots, m.roots);
  assert.deepEqual(
    [...back.nodes.values()].map((n) => [n.id, n.name, n.type, n.parent, n.state]),
    [...m.nodes.values()].map((n) => [n.id, n.name, n.type, n.parent, n.state]),
  );
  assert.deepEqual(back.links, m.links);
  // What the topology dashboard's SQL returns (title, subtitle, detail__host, detail__state, color; mainstat = RelationType).
  const sql = fromNodeGraphFrames(
    {
      id: ["h", "ns", "if"],
      title: ["h1", "blue", "eth0"],
      subtitle: ["host", "netns", "veth"],
      detail__host: ["h1", "h1", "h1"],
      detail__state: ["", "", "DOWN"],
    },
    { id: ["e1", "e2", "e3"], source: ["h", "ns", "ns"], target: ["ns", "if", "gone"], mainstat: ["ownership", "ownership", "layer2"] },
  );
  assert.equal(sql.Edges.length, 2, "the edge to a missing node is dropped");
  const fromSql = buildModel(sql);
  assert.equal(fromSql.nodes.get("if")!.parent, "ns");
  assert.equal(fromSql.nodes.get("if")!.state, "down");
  assert.equal(fromSql.nodes.get("if")!.host, "h1");
});
