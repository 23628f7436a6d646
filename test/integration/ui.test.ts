// The web UI in a real browser (Debian's Chromium driven by playwright-core) against a real all-in-one
// watching a netns lab: the lab's namespaces and interfaces appear, a link set down shows as down within
// seconds (WebSocket events), the time slider shows the graph from before, a capture started from the UI
// makes flows that a Gremlin query from the UI finds, and the flow matrix lists the lab's pair.
// Screenshots go to $TEST_ARTIFACTS (default: a temporary directory), named in the test's output.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { launchChromium } from "../harness/chromium.ts";
import { freePort } from "../harness/kafka.ts";
import { NetnsLab, ip } from "../harness/netns-lab.ts";
import { startSkystream, waitFor } from "../harness/skystream-process.ts";

test("web UI in Chromium on a real all-in-one: lab topology, link down, time slider, capture → flows, flow matrix", { timeout: 240_000 }, async (t) => {
  const artifacts = process.env.TEST_ARTIFACTS ?? mkdtempSync(join(tmpdir(), "skystream-ui-"));
  mkdirSync(artifacts, { recursive: true });
  const lab = new NetnsLab();
  t.after(() => lab.destroy());
  const { a, b, va, vb } = lab.pair("198.18.80");
  // A UDP receiver in b (socketinfo sees it listening) and a sender in a.
  const receiver = lab.udpReceiver(b, "198.18.80.2", 9999);
  t.after(() => receiver.kill("SIGKILL"));

  const port = await freePort();
  const base = `http://127.0.0.1:${port}/`;
  const aio = await startSkystream(["allinone"], {
    SKYSTREAM_CLICKHOUSE_DATA_PATH: mkdtempSync(join(tmpdir(), "skystream-ui-aio-")),
    SKYSTREAM_AGENT_HOST_ID: "ui-host",
    SKYSTREAM_API_LISTEN: `127.0.0.1:${port}`,
    SKYSTREAM_AGENT_FLOW_TABLE_UPDATE: "1s",
    SKYSTREAM_AGENT_TOPOLOGY_PROBES: JSON.stringify({ host: {}, netlink: {}, socketinfo: { interval: "500ms" } }),
    SKYSTREAM_PIPELINE_SINKS: JSON.stringify({ clickhouse_flows: { batch_timeout: "500ms" }, clickhouse_topology: {} }),
  });
  t.after(() => aio.kill("SIGKILL"));
  await aio.waitForOutput(/all-in-one running/);

  const browser = await launchChromium();
  t.after(() => browser.close());
  const page: Page = await browser.newPage({ viewport: { width: 1400, height: 850 } });
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(base);
  const status = async (key: string) => Number((await page.getAttribute("#status", `data-${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`)) ?? "0");
  const fail = async (e: Error): Promise<never> => {
    const shown = await page.textContent("#status").catch(() => "?");
    const label = await page.textContent("#time-label").catch(() => "?");
    throw new Error(`${e.message}\n--- status: ${shown}; time: ${label}\n--- page errors: ${errors.join("; ")}\n--- all-in-one:\n${aio.output().slice(-2500)}`);
  };

  // The lab appears: two namespaces and their veths, found by the search box.
  await waitFor("the graph in the page", async () => ((await status("nodes")) > 0 ? true : undefined), 30_000).catch(fail);
  await page.fill("#search", lab.p);
  await waitFor("the lab's four nodes", async () => ((await status("matches")) === 4 ? true : undefined), 30_000).catch(fail);
  assert.equal(await status("matchesDown"), 0);
  await page.screenshot({ path: join(artifacts, "ui-lab.png") });
  const beforeDown = Date.now();
  await new Promise((r) => setTimeout(r, 2000));

  // Link down: shown within seconds, pushed by the WebSocket.
  const downAt = Date.now();
  ip("-n", a, "link", "set", va, "down");
  await waitFor("va down in the page", async () => ((await status("matchesDown")) >= 1 ? true : undefined), 15_000).catch(fail);
  t.diagnostic(`link down shown after ${Date.now() - downAt} ms`);
  await page.fill("#search", va);
  await page.screenshot({ path: join(artifacts, "ui-link-down.png") });

  // The time slider: before the link went down, va was up.
  // One second after beforeDown (the slider has 1 s steps): the lab was there, va not yet down.
  await page.fill("#time", String(-Math.round((Date.now() - (beforeDown + 1000)) / 1000)));
  await waitFor("the earlier graph", async () => ((await status("matches")) === 1 && (await status("matchesDown")) === 0 ? true : undefined), 15_000).catch(
    fail,
  );
  assert.match((await page.textContent("#status")) ?? "", /past/);
  await page.fill("#time", "0");
  await waitFor("live again", async () => ((await status("matchesDown")) === 1 ? true : undefined), 15_000).catch(fail);
  ip("-n", a, "link", "set", va, "up");

  // A capture from the UI on vb, traffic a → b, flows found by a Gremlin query typed in the UI.
  await page.click("nav button[data-tab=captures]");
  await page.fill("#capture-form input[name=GremlinQuery]", `G.V().Has('Name', '${vb}')`);
  await page.click("#capture-form button[type=submit]");
  await waitFor("the capture listed", async () => ((await page.textContent("#captures")) ?? "").includes(vb) || undefined, 15_000).catch(fail);
  const sender = lab.udpSender(a, "198.18.80.2", 9999, 300);
  t.after(() => sender.kill("SIGKILL"));
  await page.fill("#gremlin", `G.V().Has('Name', '${vb}').Flows().Has('Transport.B', 9999).Count()`);
  await waitFor(
    "flows of the capture through the UI's Gremlin box",
    async () => {
      await page.click("#gremlin-form button");
      await page.waitForTimeout(500);
      const out = (await page.textContent("#query-result")) ?? "";
      return /\[\s*[1-9]\d*\s*\]/.test(out) ? true : undefined;
    },
    60_000,
    1000,
  ).catch(fail);

  // The flow matrix tab lists the pair, server side in b on 9999.
  await waitFor(
    "the pair in the flow matrix",
    async () => {
      await page.click("nav button[data-tab=matrix]");
      await page.waitForTimeout(500);
      const text = (await page.textContent("#matrix")) ?? "";
      return text.includes("198.18.80.2") && text.includes("9999") && text.includes("198.18.80.1") ? true : undefined;
    },
    60_000,
    1000,
  ).catch(fail);
  await page.screenshot({ path: join(artifacts, "ui-flow-matrix.png") });

  // A click on a node shows its metadata.
  await page.fill("#search", vb);
  await page.waitForTimeout(500);
  const box = await page.$eval("#canvas", (c) => {
    const r = c.getBoundingClientRect();
    return { x: r.x + r.width / 2, y: r.y + r.height / 2 };
  });
  await page.mouse.click(box.x, box.y);
  await waitFor("the node's details", async () => ((await page.textContent("#tab-details")) ?? "").includes(vb) || undefined, 10_000).catch(fail);
  await page.screenshot({ path: join(artifacts, "ui-node.png") });
  assert.deepEqual(errors, [], "no error in the page");
  t.diagnostic(`screenshots in ${artifacts}`);
});
