// The lldp probe with two real lldpd daemons in lab namespaces.
import { test } from "node:test";
import assert from "node:assert/strict";
import pino from "pino";
import { createRegistry } from "@skystream/common";
import { Graph } from "../../../graph/graph.js";
import { NetnsLab } from "../../../../../test/harness/netns-lab.ts";
import { startLldpd } from "../../../../../test/harness/lldpd.ts";
import { waitFor } from "../../../../../test/harness/skystream-process.ts";
import { netlink } from "../netlink/index.js";
import { lldp } from "./index.js";

test("lldp: the neighbour's chassis and port, linked to the local interface; gone when it stops", { timeout: 60_000 }, async (t) => {
  const lab = new NetnsLab();
  t.after(() => lab.destroy());
  const [l1, l2] = [lab.ns("l1"), lab.ns("l2")];
  const [e1, e2] = lab.veth("e1", l1, "e2", l2);
  const d1 = startLldpd(l1, e1, "sw-l1", "top of rack 1");
  const d2 = startLldpd(l2, e2, "sw-l2");
  t.after(async () => {
    await d1.stop();
    await d2.stop();
  });
  await waitFor("lldpd sockets", async () => (await import("node:fs")).existsSync(d2.socket), 10_000, 50);

  const graph = new Graph("lldphost", "agent.lldphost");
  const deps = { hostId: "lldphost", graph, log: pino({ level: "warn" }), metrics: createRegistry("test") };
  const nl = netlink.create(netlink.config.parse({}), { ...deps, id: "netlink" });
  const probe = lldp.create(lldp.config.parse({ instances: [{ socket: d2.socket, netns: l2 }], interval: "200ms" }), { ...deps, id: "lldp" });
  await nl.start();
  await probe.start();
  t.after(async () => {
    await probe.stop();
    await nl.stop();
  });
  const named = (name: string, type: string) => [...graph.nodes.values()].find((n) => n.Name === name && n.Type === type);
  await waitFor("the neighbour", async () => !!named("sw-l1", "switch"), 10_000, 50);
  const sw = named("sw-l1", "switch")!;
  const lldpInfo = sw.Metadata.LLDP as { Description: string; ChassisIDType: string };
  assert.equal(lldpInfo.Description, "top of rack 1");
  assert.equal(lldpInfo.ChassisIDType, "mac");
  const port = named(e1, "switchport")!;
  assert.ok(port, "the peer's port, named by its description (the peer's ifname)");
  const edges = [...graph.edges.values()];
  assert.ok(edges.some((e) => e.Parent === sw.ID && e.Child === port.ID && e.RelationType === "ownership"));
  const local = named(e2, "veth")!;
  assert.ok(
    edges.some((e) => e.Parent === port.ID && e.Child === local.ID && e.RelationType === "layer2"),
    "switchport -> local interface",
  );

  await d1.stop();
  await waitFor("neighbour removed", async () => !named("sw-l1", "switch"), 5000, 50);
});
