// The topology view in headless Chromium: the shared GraphView (what the web UI and the Grafana panel
// draw with) on synthetic topologies of 1k–50k nodes, bundled with esbuild into a page of its own. Per
// size: setGraph (model + layout) and the first draw, then frames per second while panning (the whole
// topology, then one host close up) and while zooming in and out about a host. The reference, measured
// on the same page in the same run, is the browser's own frame cadence with nothing to draw.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { bundlePage, launchChromium } from "../test/harness/chromium.ts";
import type { DrawStats } from "@skystream/views";
import type { FrameFigures, LoadFigures } from "./render-page/main.ts";

const VIEWPORT = { width: 1600, height: 1000 };
const ENTRY = fileURLToPath(new URL("./render-page/main.ts", import.meta.url));
const DOCS = fileURLToPath(new URL("../ui/docs/", import.meta.url));

const HEAD = `<title>skystream render bench</title>
<style>
  html, body { margin: 0; height: 100%; overflow: hidden; }
  canvas { display: block; width: 100vw; height: 100vh; }
</style>`;

export interface RenderSize {
  load: LoadFigures;
  panFit: FrameFigures;
  panHost: FrameFigures;
  zoom: FrameFigures;
}

export interface RenderResult {
  browser: string;
  viewport: typeof VIEWPORT;
  /** The empty rAF loop on the same page: the most frames the browser gives. */
  empty: FrameFigures;
  sizes: RenderSize[];
  /** The 10,000-node screenshots, with what draw() put on each. */
  screenshots: (DrawStats & { file: string; scale: number })[];
}

/** Bundles the page (minified, as the UI's build is) into a temp dir; its index.html. */
async function buildPage(dir: string): Promise<string> {
  return pathToFileURL(await bundlePage(ENTRY, dir, { head: HEAD, body: "<canvas></canvas>", build: { logLevel: "silent" } })).href;
}

/**
 * `sizes` in nodes; each on a freshly loaded page. `secs` per pan/zoom phase. Screenshots of the 10,000-node
 * view (fitted, and one host close up) go to ui/docs/ when 10,000 is among the sizes.
 */
export async function benchRender(sizes = [1_000, 10_000, 50_000], secs = 3): Promise<RenderResult> {
  const dir = mkdtempSync(join(tmpdir(), "skystream-render-"));
  const browser = await launchChromium();
  try {
    const url = await buildPage(dir);
    const page = await browser.newPage({ viewport: VIEWPORT });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    const open = async () => {
      await page.goto(url);
      await page.waitForSelector("body[data-ready]").catch((e: Error) => {
        throw new Error(`the render page did not start: ${errors.join("; ") || e.message}`);
      });
    };
    await open();
    const ms = secs * 1000;
    const empty = await page.evaluate((t) => window.skyRender.emptyLoop(t), ms);
    const out: RenderSize[] = [];
    const screenshots: RenderResult["screenshots"] = [];
    for (const n of sizes) {
      await open();
      // The callbacks run in the page (serialized by Playwright): window.skyRender is main.ts's.
      const load = await page.evaluate((k) => window.skyRender.load(k), n);
      const panFit = await page.evaluate((t) => window.skyRender.pan(t, "fit"), ms);
      const panHost = await page.evaluate((t) => window.skyRender.pan(t, "host"), ms);
      const zoom = await page.evaluate((t) => window.skyRender.zoom(t), ms);
      out.push({ load, panFit, panHost, zoom });
      if (n === 10_000) {
        mkdirSync(DOCS, { recursive: true });
        for (const [view, file] of [
          ["fit", "render-10k.png"],
          ["host", "render-10k-zoom.png"],
        ] as const) {
          const stats = await page.evaluate((v) => window.skyRender.show(v), view);
          await page.screenshot({ path: join(DOCS, file) });
          screenshots.push({ file: join(DOCS, file), ...stats });
        }
      }
    }
    if (errors.length) throw new Error(`errors in the render page: ${errors.join("; ")}`);
    return { browser: browser.version(), viewport: VIEWPORT, empty, sizes: out, screenshots };
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
