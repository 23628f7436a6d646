// The ovsdb probe against a real ovsdb-server/ovs-vswitchd (userspace datapath) in a lab.
import { test } from "node:test";
import assert from "node:assert/strict";
import pino from "pino";
import { createRegistry } from "@skystream/common";
import { Graph, type GraphNode } from "../../../graph/graph.js";
import { NetnsLab, ip } from "../../../../../test/harness/netns-lab.ts";
import { startOvs } from "../../../../../test/harness/ovs.ts";
import { waitFor } from "../../../../../test/harness/skystream-process.ts";
import { netlink } from "../netlink/index.js";
import { ovsdb } from "./index.js";

test("ovsdb: bridges, ports, kernel interfaces and patch ports, live", { timeout: 60_000 }, async (t) => {
  const lab = new NetnsLab();
  t.after(() => lab.destroy());
  const [sw, i1, i2] = [lab.ns("ovs"), lab.ns("i1"), lab.ns("i2")];
  const ovs = startOvs(sw);
  t.after(() => ovs.stop());
  const [, p1] = lab.veth("v1", i1, "p1", sw);
  const [, p2] = lab.veth("v2", i2, "p2", sw);
  ovs.vsctl("add-br", "br9", "--", "set", "bridge", "br9", "datapath_type=netdev");
  ovs.vsctl("add-port", "br9", p1);
  ovs.vsctl("add-port", "br9", p2, "tag=42");
  ovs.vsctl("add-br", "br8", "--", "set", "bridge", "br8", "datapath_type=netdev");
  ovs.vsctl("add-port", "br9", "patch-9to8", "--", "set", "interface", "patch-9to8", "type=patch", "options:peer=patch-8to9");
  ovs.vsctl("add-port", "br8", "patch-8to9", "--", "set", "interface", "patch-8to9", "type=patch", "options:peer=patch-9to8");

  const graph = new Graph("ovshost", "agent.ovshost");
  const deps = { hostId: "ovshost", graph, log: pino({ level: "warn" }), metrics: createRegistry("test") };
  const nl = netlink.create(netlink.config.parse({}), { ...deps, id: "netlink" });
  const probe = ovsdb.create(ovsdb.config.parse({ address: `unix:${ovs.socket}` }), { ...deps, id: "ovsdb" });
  await nl.start();
  await probe.start();
  t.after(async () => {
    await probe.stop();
    await nl.stop();
  });
  const named = (name: string, type?: string) => [...graph.nodes.values()].find((n) => n.Name === name && (!type || n.Type === type));
  const linked = (x?: GraphNode, y?: GraphNode, rel = "layer2") =>
    [...graph.edges.values()].some((e) => e.RelationType === rel && e.Parent === x?.ID && e.Child === y?.ID);
  await waitFor("ports linked to kernel interfaces", async () => linked(named(p2, "ovsport"), named(p2, "veth")), 5000, 20);

  const br9 = named("br9", "ovsbridge")!;
  assert.equal(br9.Metadata.DatapathType, "netdev");
  assert.match(String((br9.Metadata.Ovs as { Version: string }).Version), /^3\./);
  assert.ok(
    [...graph.edges.values()].some((e) => e.Child === br9.ID && e.RelationType === "ownership"),
    "the host owns the bridge",
  );
  for (const p of [p1, p2, "patch-9to8"]) {
    assert.ok(linked(br9, named(p, "ovsport"), "ownership"), `br9 owns port ${p}`);
    assert.ok(linked(br9, named(p, "ovsport")), `br9 layer2 port ${p}`);
  }
  assert.deepEqual(named(p2, "ovsport")!.Metadata.Vlans, [42]);
  const kernelP1 = named(p1, "veth")!;
  assert.ok(linked(named(p1, "ovsport"), kernelP1), "the port links to netlink's veth node, not a copy");
  assert.equal(typeof kernelP1.Metadata.OfPort, "number");
  assert.equal(kernelP1.Metadata.IfIndex !== undefined, true, "netlink metadata kept");
  const patch9 = named("patch-9to8", "patch")!;
  const patch8 = named("patch-8to9", "patch")!;
  assert.ok(
    [...graph.edges.values()].some((e) => e.Metadata.Type === "patch" && [e.Parent, e.Child].sort().join() === [patch9.ID, patch8.ID].sort().join()),
    "patch peers joined",
  );
  const internal = named("br9", "tun") ?? named("br9", "internal");
  assert.ok(internal, "the bridge's internal port");

  // Live: a port removed from OVS leaves the graph; the kernel interface stays (netlink owns it).
  const t0 = performance.now();
  ovs.vsctl("del-port", "br9", p1);
  await waitFor("port removed", async () => !named(p1, "ovsport"), 2000, 10);
  t.diagnostic(`del-port seen in ${(performance.now() - t0).toFixed(0)} ms`);
  assert.ok(named(p1, "veth"), "kernel interface still there");
  assert.equal(named(p1, "veth")!.Metadata.OfPort, undefined, "its OVS decoration is gone");
  ip("-n", sw, "link", "set", p2, "down");
});
