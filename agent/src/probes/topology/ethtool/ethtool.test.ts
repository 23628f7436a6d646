import { test } from "node:test";
import assert from "node:assert/strict";
import pino from "pino";
import { createRegistry } from "@skystream/common";
import { Graph } from "../../../graph/graph.js";
import { NetnsLab, ip } from "../../../../../test/harness/netns-lab.ts";
import { waitFor } from "../../../../../test/harness/skystream-process.ts";
import { netlink } from "../netlink/index.js";
import { ethtool } from "./index.js";

test("ethtool adds driver, link settings and features to netlink's interfaces", { timeout: 60_000 }, async (t) => {
  const lab = new NetnsLab();
  t.after(() => lab.destroy());
  const [a, b] = [lab.ns("a"), lab.ns("b")];
  const [va] = lab.veth("va", a, "vb", b);
  ip("-n", a, "link", "add", "br9", "type", "bridge");

  const graph = new Graph("ethhost", "agent.ethhost");
  const deps = { hostId: "ethhost", graph, log: pino({ level: "warn" }), metrics: createRegistry("test") };
  const nl = netlink.create(netlink.config.parse({}), { ...deps, id: "netlink" });
  const et = ethtool.create(ethtool.config.parse({}), { ...deps, id: "ethtool" });
  await nl.start();
  await et.start();
  t.after(async () => {
    await et.stop();
    await nl.stop();
  });
  const node = (name: string) => [...graph.nodes.values()].find((n) => n.Name === name);
  await waitFor("driver info", async () => node(va)?.Metadata.Driver === "veth" && node("br9")?.Metadata.Driver === "bridge", 5000, 20);
  const m = node(va)!.Metadata;
  assert.equal(m.Speed, 10000);
  assert.equal(m.Duplex, "Full");
  assert.equal(m.LinkDetected, true);
  assert.ok((m.Features as string[]).includes("rx-checksumming"));
  assert.equal(m.MTU, 1500, "netlink's metadata is still there");

  // A new interface is looked up when it appears.
  ip("-n", b, "link", "add", "br8", "type", "bridge");
  await waitFor("new interface", async () => node("br8")?.Metadata.Driver === "bridge", 3000, 20);
});
