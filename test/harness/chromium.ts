// Debian's Chromium driven by playwright-core, headless, for the browser tests and the render benchmark
// (flags: ../shared/reference/infra.md §7), and esbuild bundling a page for it.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { build, type BuildOptions } from "esbuild";
import { chromium, type Browser } from "playwright-core";

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
}

export interface PageOptions {
  /** What goes in <head> (beside the charset) and <body> (before the script); default: a #root div. */
  head?: string;
  body?: string;
  /** esbuild options on top of ours (loaders, aliases…). */
  build?: BuildOptions;
}

/** Bundles `entry` for the browser into `dir`/page.js beside an index.html; returns index.html's path. */
export async function bundlePage(entry: string, dir: string, opts: PageOptions = {}): Promise<string> {
  await build({
    entryPoints: [entry],
    outfile: join(dir, "page.js"),
    bundle: true,
    format: "iife",
    platform: "browser",
    target: "chrome120",
    minify: true,
    logLevel: "error",
    define: { "process.env.NODE_ENV": '"production"' },
    ...opts.build,
  });
  const html = join(dir, "index.html");
  const body = opts.body ?? '<div id="root"></div>';
  writeFileSync(
    html,
    `<!doctype html>\n<html><head><meta charset="utf-8" />${opts.head ?? ""}</head><body>${body}<script src="page.js"></script></body></html>\n`,
  );
  return html;
}
