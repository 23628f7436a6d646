// The netlink probe on a real lab: namespaces, veth pairs across them, a bridge, a vxlan; then changes.
import { test } from "node:test";
import assert from "node:assert/strict";
import pino from "pino";
import { createRegistry } from "@skystream/common";
import { Graph, type GraphNode } from "../../../graph/graph.js";
import { NetnsLab, ip } from "../../../../../test/harness/netns-lab.ts";
import { waitFor } from "../../../../../test/harness/skystream-process.ts";
import { netlink } from "./index.js";
import { host } from "../host/index.js";

test("netlink probe: lab topology, then live changes in under a second", { timeout: 60_000 }, async (t) => {
  const lab = new NetnsLab();
  t.after(() => lab.destroy());
  const [a, b, sw] = [lab.ns("a"), lab.ns("b"), lab.ns("sw")];
  ip("-n", sw, "link", "add", "br0", "type", "bridge");
  ip("-n", sw, "link", "set", "br0", "up");
  const [va, pa] = lab.veth("va", a, "pa", sw);
  const [vb, pb] = lab.veth("vb", b, "pb", sw);
  ip("-n", sw, "link", "set", pa, "master", "br0");
  ip("-n", sw, "link", "set", pb, "master", "br0");
  ip("-n", a, "addr", "add", "198.18.10.1/24", "dev", va);
  ip("-n", b, "addr", "add", "198.18.10.2/24", "dev", vb);
  ip("-n", a, "addr", "add", "fd00:10::1/64", "dev", va, "nodad");
  ip("-n", a, "link", "add", "vx42", "type", "vxlan", "id", "42", "dev", va, "dstport", "4789", "local", "198.18.10.1", "remote", "198.18.10.2");
  ip("-n", a, "route", "add", "198.18.99.0/24", "via", "198.18.10.2");
  ip("-n", a, "route", "add", "default", "via", "198.18.10.254");
  ip("-n", a, "neigh", "add", "198.18.10.9", "lladdr", "02:00:00:00:10:09", "dev", va);
  // One end in the root namespace: the host owns it.
  const [vr] = lab.veth("vr", "", "vp", b);

  const graph = new Graph("labhost", "agent.labhost");
  const deps = { hostId: "labhost", graph, log: pino({ level: "warn" }), metrics: createRegistry("test") };
  const hostProbe = host.create(host.config.parse({}), { ...deps, id: "host" });
  // An anonymous namespace: held only by a process, as a container's is.
  const { spawn: spawnProcess } = await import("node:child_process");
  const holder = spawnProcess("unshare", ["--net", "sleep", "600"], { stdio: "ignore" });
  t.after(() => holder.kill("SIGKILL"));
  await new Promise((r) => setTimeout(r, 200));
  const [anonSide] = lab.veth("an", "", "ap", b);
  ip("link", "set", anonSide, "netns", String(holder.pid));
  const probe = netlink.create(netlink.config.parse({ metrics_interval: "200ms", anonymous_interval: "200ms" }), { ...deps, id: "netlink" });
  await hostProbe.start();
  await probe.start();
  t.after(() => probe.stop());

  const nodes = () => [...graph.nodes.values()];
  const named = (name: string, type?: string) => nodes().find((n) => n.Name === name && (!type || n.Type === type));
  const edge = (x: GraphNode | undefined, y: GraphNode | undefined, rel: string) =>
    [...graph.edges.values()].find((e) => e.RelationType === rel && ((e.Parent === x?.ID && e.Child === y?.ID) || (e.Parent === y?.ID && e.Child === x?.ID)));

  const hostNode = named("labhost", "host")!;
  assert.ok(hostNode, "host node");
  assert.equal(hostNode.Metadata.OS, "linux");
  for (const ns of [a, b, sw]) {
    assert.ok(edge(hostNode, named(ns, "netns"), "ownership"), `host owns netns ${ns}`);
  }
  const nodeVa = named(va, "veth")!;
  assert.deepEqual(nodeVa.Metadata.IPV4, ["198.18.10.1/24"]);
  assert.ok((nodeVa.Metadata.IPV6 as string[]).includes("fd00:10::1/64"));
  assert.equal(nodeVa.Metadata.State, "UP");
  assert.match(String(nodeVa.Metadata.MAC), /^[0-9a-f:]{17}$/);
  assert.ok(edge(named(a, "netns"), nodeVa, "ownership"), "netns a owns va");
  assert.ok(edge(nodeVa, named(pa, "veth"), "layer2"), "veth pair across namespaces");
  assert.ok(edge(named(vb, "veth"), named(pb, "veth"), "layer2"));
  assert.ok(edge(named("br0", "bridge"), named(pa, "veth"), "layer2"), "bridge to its port");
  assert.ok(edge(named("br0", "bridge"), named(pb, "veth"), "layer2"));
  const tables = nodeVa.Metadata.RoutingTables as { ID: string; Routes: { Prefix: string; NextHops: { IP?: string }[] }[] }[];
  const main = tables.find((x) => x.ID === "main")!;
  assert.ok(
    main.Routes.some((r) => r.Prefix === "198.18.10.0/24"),
    "connected route",
  );
  assert.equal(main.Routes.find((r) => r.Prefix === "198.18.99.0/24")?.NextHops[0]?.IP, "198.18.10.2", "static route with its gateway");
  assert.equal(main.Routes.find((r) => r.Prefix === "0.0.0.0/0")?.NextHops[0]?.IP, "198.18.10.254", "default route");
  const neigh = nodeVa.Metadata.Neighbors as { IP: string; MAC: string; State: string[] }[];
  assert.deepEqual(
    neigh.find((x) => x.IP === "198.18.10.9"),
    { IP: "198.18.10.9", MAC: "02:00:00:00:10:09", State: ["PERMANENT"], IfIndex: nodeVa.Metadata.IfIndex },
  );
  const fdbPa = named(pa, "veth")!.Metadata.FDB as { MAC: string }[];
  assert.ok(fdbPa.length > 0, "bridge port FDB");
  const vx = named("vx42", "vxlan")!;
  assert.equal((vx.Metadata.Vxlan as { VNI: number }).VNI, 42);
  assert.ok(edge(nodeVa, vx, "layer2"), "vxlan on its parent");
  assert.ok(edge(hostNode, named(vr, "veth"), "ownership"), "host owns root-namespace interfaces");
  assert.ok(edge(named(vr, "veth"), named(`${lab.p}vp`, "veth"), "layer2"), "veth pair root <-> netns");

  const anonNode = named(anonSide, "veth")!;
  assert.ok(anonNode, "interface inside the anonymous namespace");
  const anonNs = [...graph.nodes.values()].find((n) => n.Type === "netns" && edge(n, anonNode, "ownership"))!;
  assert.match(anonNs.Name, /^net:\[\d+\]$/);
  assert.equal(anonNs.Metadata.Path, `/proc/${holder.pid}/ns/net`);
  assert.ok(edge(anonNode, named(`${lab.p}ap`, "veth"), "layer2"), "veth pair into the anonymous namespace");

  // Interface counters: traffic across the veth pair shows in Metric and LastUpdateMetric.
  const { execFileSync } = await import("node:child_process");
  const udp = "import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nfor _ in range(5):\n  s.sendto(b'x',('198.18.10.2',9));time.sleep(0.05)";
  execFileSync("ip", ["netns", "exec", a, "python3", "-c", udp], { stdio: "ignore" });
  await waitFor("counters", async () => Number((named(va, "veth")?.Metadata.Metric as { TxPackets?: number } | undefined)?.TxPackets ?? 0) >= 3, 3000, 50);
  const lum = named(va, "veth")!.Metadata.LastUpdateMetric as { Start: number; Last: number; TxBytes: number };
  assert.ok(lum.Last >= lum.Start && lum.TxBytes >= 0);

  // Live changes.
  const timed = async (what: string, change: () => void, holds: () => boolean) => {
    const t0 = performance.now();
    change();
    await waitFor(what, async () => holds(), 2000, 10);
    const ms = performance.now() - t0;
    t.diagnostic(`${what}: ${ms.toFixed(0)} ms`);
    assert.ok(ms < 1000, `${what} took ${ms} ms`);
  };
  await timed(
    "link down",
    () => ip("-n", a, "link", "set", va, "down"),
    () => named(va, "veth")?.Metadata.State === "DOWN",
  );
  await timed(
    "MTU change",
    () => ip("-n", b, "link", "set", vb, "mtu", "1400"),
    () => named(vb, "veth")?.Metadata.MTU === 1400,
  );
  await timed(
    "address added",
    () => ip("-n", b, "addr", "add", "198.18.11.2/24", "dev", vb),
    () => (named(vb, "veth")?.Metadata.IPV4 as string[]).includes("198.18.11.2/24"),
  );
  await timed(
    "route added",
    () => ip("-n", b, "route", "add", "198.18.77.0/24", "dev", vb),
    () =>
      ((named(vb, "veth")?.Metadata.RoutingTables as { Routes: { Prefix: string }[] }[] | undefined) ?? []).some((x) =>
        x.Routes.some((r) => r.Prefix === "198.18.77.0/24"),
      ),
  );
  const oldRev = named(vb, "veth")!.Revision;
  assert.ok(oldRev > 1, "updates bump the revision");
  const c = lab.ns("c");
  await timed(
    "namespace added",
    () => ip("link", "set", vr, "netns", c),
    () => !!edge(named(c, "netns"), named(vr, "veth"), "ownership"),
  );
  await timed(
    "anonymous namespace gone with its process",
    () => holder.kill("SIGKILL"),
    () => !graph.nodes.has(anonNs.ID) && !named(anonSide),
  );
  await timed(
    "namespace deleted",
    () => ip("netns", "del", b),
    () => !named(b, "netns") && !named(vb, "veth"),
  );
  assert.equal(named(`${lab.p}vp`), undefined, "its interfaces went with it");
});
