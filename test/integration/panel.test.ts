// The Grafana panel on a real stack: an all-in-one watching a netns lab, a capture on the lab's server
// interface and UDP traffic to a server process. The panel's own tests (dashboards/test/stack.test.tsx,
// node's test runner + jsdom, in the plugin's package) read the topology and flow matrix from this API,
// and the panel is bundled into a page (Grafana's dark theme, its props) opened in Chromium, where it draws
// the lab and lists the pair. Screenshots go to $TEST_ARTIFACTS (default: a temporary directory).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../harness/kafka.ts";
import { NetnsLab } from "../harness/netns-lab.ts";
import { startSkystream, waitFor } from "../harness/skystream-process.ts";
import { bundlePage, launchChromium } from "../harness/chromium.ts";

const PANEL = fileURLToPath(new URL("../../dashboards/", import.meta.url));
const VIEWS = fileURLToPath(new URL("../../views/src/index.ts", import.meta.url));

/** Runs a command, resolving with its exit code and output. */
function run(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { ...opts, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (out += d.toString()));
    p.on("close", (code) => resolve({ code: code ?? 1, out }));
  });
}

test("Grafana panel on a real all-in-one: topology and flow matrix from the API, in jsdom and in Chromium", { timeout: 300_000 }, async (t) => {
  const artifacts = process.env.TEST_ARTIFACTS ?? mkdtempSync(join(tmpdir(), "skystream-panel-"));
  mkdirSync(artifacts, { recursive: true });
  const lab = new NetnsLab();
  t.after(() => lab.destroy());
  const { a, b, vb } = lab.pair("198.18.81");
  const receiver = lab.udpReceiver(b, "198.18.81.2", 9998);
  t.after(() => receiver.kill("SIGKILL"));

  // The page is served from another origin than the API, as Grafana is: the API allows it (CORS).
  const page = mkdtempSync(join(tmpdir(), "skystream-panel-page-"));
  const html = await bundlePage(join(PANEL, "test/harness/page.tsx"), page, {
    build: { loader: { ".css": "empty", ".svg": "dataurl", ".woff": "empty", ".woff2": "empty" }, alias: { "@skystream/views": VIEWS } },
  });
  const files = new Map([
    ["/", { type: "text/html", body: readFileSync(html) }],
    ["/page.js", { type: "text/javascript", body: readFileSync(join(dirname(html), "page.js")) }],
    ["/favicon.ico", { type: "image/x-icon", body: Buffer.alloc(0) }],
  ]);
  const web = createServer((req, res) => {
    const f = files.get((req.url ?? "/").split("?")[0]!);
    res.writeHead(f ? 200 : 404, { "content-type": f?.type ?? "text/plain" }).end(f?.body ?? "");
  });
  const webPort = await freePort();
  await new Promise<void>((r) => web.listen(webPort, "127.0.0.1", r));
  t.after(() => web.close());

  const port = await freePort();
  const api = `http://127.0.0.1:${port}`;
  const aio = await startSkystream(["allinone"], {
    SKYSTREAM_CLICKHOUSE_DATA_PATH: mkdtempSync(join(tmpdir(), "skystream-panel-aio-")),
    SKYSTREAM_AGENT_HOST_ID: "panel-host",
    SKYSTREAM_API_LISTEN: `127.0.0.1:${port}`,
    SKYSTREAM_API_CORS_ORIGINS: `http://127.0.0.1:${webPort}`,
    SKYSTREAM_AGENT_FLOW_TABLE_UPDATE: "1s",
    SKYSTREAM_AGENT_TOPOLOGY_PROBES: JSON.stringify({ host: {}, netlink: {}, socketinfo: { interval: "500ms" } }),
    SKYSTREAM_PIPELINE_SINKS: JSON.stringify({ clickhouse_flows: { batch_timeout: "500ms" }, clickhouse_topology: {} }),
  });
  t.after(() => aio.kill("SIGKILL"));
  await aio.waitForOutput(/all-in-one running/);
  const fail = (e: Error): never => {
    throw new Error(`${e.message}\n--- all-in-one:\n${aio.output().slice(-2500)}`);
  };

  // A capture on the server's interface and traffic to it, until the flow matrix has the pair.
  await waitFor("the lab in the graph", async () => ((await (await fetch(`${api}/api/topology`)).text()).includes(vb) ? true : undefined), 30_000).catch(fail);
  const capture = await fetch(`${api}/api/capture`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ GremlinQuery: `G.V().Has('Name', '${vb}')` }),
  });
  assert.equal(capture.status, 201, await capture.text());
  const sender = lab.udpSender(a, "198.18.81.2", 9998, 400);
  t.after(() => sender.kill("SIGKILL"));
  await waitFor(
    "the pair in the flow matrix",
    async () => {
      const rows = (await (await fetch(`${api}/api/flowmatrix?from=-1h`)).json()) as { ServerIP: string; Port: number; ServerProcName: string }[];
      return rows.some((r) => r.ServerIP.endsWith("198.18.81.2") && r.Port === 9998 && r.ServerProcName) ? true : undefined;
    },
    60_000,
    1000,
  ).catch(fail);

  // The panel's own tests, in its package (CommonJS, @grafana/* 13.1.0, jsdom), against this API: a test
  // run of its own (node's runner refuses to nest in the one running this file when told of it).
  const { NODE_TEST_CONTEXT: _nested, ...env } = process.env;
  const jsdom = await run(process.execPath, ["--require", "./test/dom-setup.cjs", "--import", "tsx", "--test", "--test-reporter=tap", "test/stack.test.tsx"], {
    cwd: PANEL,
    env: {
      ...env,
      TZ: "UTC",
      SKYSTREAM_API: api,
      SKYSTREAM_LAB: lab.p,
      SKYSTREAM_LAB_CLIENT: "198.18.81.1",
      SKYSTREAM_LAB_SERVER: "198.18.81.2",
      SKYSTREAM_LAB_PORT: "9998",
    },
  });
  const summary = /# pass (\d+)\n# fail (\d+)/.exec(jsdom.out);
  assert.ok(jsdom.code === 0 && summary && Number(summary[1]) >= 3 && summary[2] === "0", `the panel's stack tests:\n${jsdom.out.slice(-4000)}`);
  t.diagnostic(`panel stack tests (jsdom): ${summary![1]} passed`);

  // The panel in Chromium, from the API, across origins.
  const browser = await launchChromium();
  t.after(() => browser.close());
  const tab = await browser.newPage({ viewport: { width: 1520, height: 820 } });
  const errors: string[] = [];
  tab.on("pageerror", (e) => errors.push(e.message));
  tab.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await tab.goto(`http://127.0.0.1:${webPort}/?api=${encodeURIComponent(api)}&search=${lab.p}`);
  const summaryText = () => tab.textContent('[aria-label="Topology summary"]').catch(() => "");
  await waitFor("the lab in the panel", async () => (/· 4 match$/.test((await summaryText()) ?? "") ? true : undefined), 30_000).catch((e: Error) =>
    fail(new Error(`${e.message}; page errors: ${errors.join("; ")}`)),
  );
  await waitFor(
    "the pair in the panel's flow matrix",
    async () => (((await tab.textContent('[aria-label="Flow matrix"]').catch(() => "")) ?? "").includes("198.18.81.2:9998/udp") ? true : undefined),
    30_000,
  ).catch(fail);
  t.diagnostic(`panel: ${await summaryText()}`);
  const bands = await tab.locator('[data-testid="flow-band"]').count();
  assert.ok(bands >= 1, "the diagram has bands");
  // The canvas drew something: not one flat colour.
  const colours = await tab.$eval('[data-testid="skystream-topology-canvas"]', (c) => {
    const canvas = c as HTMLCanvasElement;
    const d = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
    const seen = new Set<number>();
    for (let i = 0; i < d.length; i += 4 * 97) seen.add((d[i]! << 16) | (d[i + 1]! << 8) | d[i + 2]!);
    return seen.size;
  });
  assert.ok(colours > 3, `the topology canvas is drawn (${colours} colours)`);
  await tab.screenshot({ path: join(artifacts, "panel-api.png") });
  // Enter selects the first match and shows its metadata.
  await tab.press('[aria-label="Search nodes"]', "Enter");
  await tab.waitForSelector('[aria-label="Node details"]', { timeout: 5000 });
  await tab.screenshot({ path: join(artifacts, "panel-node.png") });
  assert.deepEqual(errors, [], "no error in the page");
  t.diagnostic(`screenshots in ${artifacts}`);
});
