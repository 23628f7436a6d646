// The docker probe against a real engine API (podman's), with a container in a lab namespace.
import { test } from "node:test";
import assert from "node:assert/strict";
import pino from "pino";
import { createRegistry } from "@skystream/common";
import { Graph } from "../../../graph/graph.js";
import { netnsNodeId } from "../../../graph/ids.js";
import { NetnsLab } from "../../../../../test/harness/netns-lab.ts";
import { startPodman, TEST_IMAGE } from "../../../../../test/harness/podman.ts";
import { waitFor } from "../../../../../test/harness/skystream-process.ts";
import { netlink } from "../netlink/index.js";
import { docker } from "./index.js";

test("docker: a running container is a node owned by its network namespace; gone when removed", { timeout: 120_000 }, async (t) => {
  const lab = new NetnsLab();
  t.after(() => lab.destroy());
  const ns = lab.ns("ctr");
  const engine = await startPodman();
  t.after(() => engine.stop());
  const name = `${lab.p}-web`;
  const id = engine.run(name, ns);

  const graph = new Graph("dockhost", "agent.dockhost");
  const deps = { hostId: "dockhost", graph, log: pino({ level: "warn" }), metrics: createRegistry("test") };
  const nl = netlink.create(netlink.config.parse({}), { ...deps, id: "netlink" });
  const probe = docker.create(docker.config.parse({ socket: engine.socket }), { ...deps, id: "docker" });
  await nl.start();
  await probe.start();
  t.after(async () => {
    await probe.stop();
    await nl.stop();
  });
  const container = () => [...graph.nodes.values()].find((n) => n.Type === "container" && n.Name === name);
  await waitFor("container node", async () => !!container(), 10_000, 50);
  const c = container()!.Metadata.Container as { ID: string; Image: string; InitProcessPID: number; Labels: Record<string, string> };
  assert.equal(c.ID, id);
  assert.equal(c.Image, TEST_IMAGE);
  assert.ok(c.InitProcessPID > 0);
  assert.equal(c.Labels["skystream.test"], "1");
  const nsId = netnsNodeId("dockhost", ns);
  assert.ok(
    [...graph.edges.values()].some((e) => e.Parent === nsId && e.Child === container()!.ID && e.RelationType === "ownership"),
    "owned by its netns",
  );
  assert.equal(graph.nodes.get(nsId)?.Metadata.Manager, "docker");

  // podman's event stream takes a moment to start following its event log after the request.
  await new Promise((r) => setTimeout(r, 1500));
  const r0 = performance.now();
  engine.remove(name);
  const t0 = performance.now();
  await waitFor("container removed", async () => !container(), 3000, 20);
  t.diagnostic(`podman rm took ${(t0 - r0).toFixed(0)} ms; the graph followed ${(performance.now() - t0).toFixed(0)} ms later`);
  await waitFor("netns no longer marked", async () => graph.nodes.get(nsId)?.Metadata.Manager === undefined, 2000, 20);
});
