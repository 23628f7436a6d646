// A real agent process watches a netns lab and publishes TopologyDeltas through the real broker; a
// consumer rebuilds the graph from them. Lab changes arrive in under a second; a restart keeps ids.
import { test } from "node:test";
import assert from "node:assert/strict";
import pino from "pino";
import { AvroCodec, TOPOLOGY_DELTA, type TopologyDelta } from "@skystream/schemas";
import { createBus, kafkaConfig, type BusMessage } from "@skystream/common";
import { nodeFromAvro } from "@skystream/agent/graph/delta";
import type { GraphNode } from "@skystream/agent/graph/graph";
import { testKafka } from "../harness/kafka.ts";
import { NetnsLab, ip } from "../harness/netns-lab.ts";
import { startSkystream, waitFor } from "../harness/skystream-process.ts";
import { testNames } from "../harness/names.ts";
import { startOvs } from "../harness/ovs.ts";
import { spawn } from "node:child_process";

test("topology deltas through Kafka: snapshot, live changes under 1 s, heartbeats, stable ids across restarts", { timeout: 180_000 }, async (t) => {
  const { bootstrap } = await testKafka();
  const n = testNames("topo");
  const topic = `${n.id}.topology`;
  const lab = new NetnsLab();
  t.after(() => lab.destroy());
  const [a, b, c, sw, ovsNs] = [lab.ns("a"), lab.ns("b"), lab.ns("c"), lab.ns("sw"), lab.ns("ovs")];
  ip("-n", sw, "link", "add", "br0", "type", "bridge");
  const [va, pa] = lab.veth("va", a, "pa", sw);
  const [vb, pb] = lab.veth("vb", b, "pb", sw);
  ip("-n", sw, "link", "set", pa, "master", "br0");
  ip("-n", sw, "link", "set", pb, "master", "br0");
  ip("-n", a, "addr", "add", "198.18.20.1/24", "dev", va);
  ip("-n", b, "addr", "add", "198.18.20.2/24", "dev", vb);
  const ovs = startOvs(ovsNs);
  t.after(() => ovs.stop());
  const [, po] = lab.veth("vo", c, "po", ovsNs);
  ovs.vsctl("add-br", "brx", "--", "set", "bridge", "brx", "datapath_type=netdev");
  ovs.vsctl("add-port", "brx", po);
  const server = spawn(
    "ip",
    ["netns", "exec", b, "python3", "-c", "import socket,time\ns=socket.socket();s.bind(('198.18.20.2',8080));s.listen();time.sleep(600)"],
    { stdio: "ignore" },
  );
  t.after(() => server.kill("SIGKILL"));

  // The consumer side: every delta, with its arrival time, and the nodes as last seen.
  const codec = new AvroCodec();
  const received: { at: number; d: TopologyDelta }[] = [];
  const nodes = new Map<string, GraphNode>();
  const bus = createBus("kafka", kafkaConfig.parse({ brokers: [bootstrap] }), pino({ level: "silent" }));
  t.after(() => bus.close());
  await bus.ensureTopics([{ topic, partitions: 3, replicationFactor: 1 }]);
  const consumer = bus.consumer(`${n.id}-reader`);
  await consumer.connect();
  await consumer.subscribe([topic], true);
  await consumer.run({
    onBatch: async (b) => {
      for (const m of b.messages as BusMessage[]) {
        const { value: d } = codec.decode<TopologyDelta>(m.value!, TOPOLOGY_DELTA);
        assert.equal(m.key?.toString(), d.Origin, "keyed by origin");
        received.push({ at: Date.now(), d });
        if (d.Node) {
          if (d.Op === "DELETE") nodes.delete(d.Node.ID);
          else nodes.set(d.Node.ID, nodeFromAvro(d.Node));
        }
      }
    },
  });
  t.after(() => consumer.disconnect());

  const env = {
    SKYSTREAM_KAFKA_BROKERS: bootstrap,
    SKYSTREAM_AGENT_HOST_ID: n.id,
    SKYSTREAM_AGENT_TOPOLOGY_TOPIC: topic,
    SKYSTREAM_AGENT_TOPOLOGY_HEARTBEAT: "1s",
    SKYSTREAM_AGENT_TOPOLOGY_PROBES: JSON.stringify({ host: {}, netlink: {}, socketinfo: { interval: "200ms" }, ovsdb: { address: `unix:${ovs.socket}` } }),
  };
  const byName = (name: string, type?: string) => [...nodes.values()].find((x) => x.Name === name && (!type || x.Type === type));
  let agent = await startSkystream(["agent"], env);
  t.after(() => agent.kill("SIGKILL"));
  await waitFor("the snapshot", async () => received.some((r) => r.d.Op === "SNAPSHOT_END"), 60_000).catch((e: Error) => {
    throw new Error(`${e.message}\n${agent.output().slice(-2000)}`);
  });
  const begin = received.findIndex((r) => r.d.Op === "SNAPSHOT_BEGIN");
  const end = received.findIndex((r) => r.d.Op === "SNAPSHOT_END");
  assert.ok(begin >= 0 && begin < end);
  assert.ok(received.slice(begin + 1, end).every((r) => r.d.SnapshotID === received[begin]!.d.SnapshotID));
  assert.equal(byName(n.id)?.Type, "host");
  assert.equal(byName(a)?.Type, "netns");
  assert.deepEqual(byName(va)?.Metadata.IPV4, ["198.18.20.1/24"]);
  assert.equal(byName("br0")?.Type, "bridge");
  const seqs = received.map((r) => r.d.Sequence);
  assert.deepEqual(
    seqs,
    [...seqs].sort((x, y) => x - y),
    "sequence numbers increase",
  );

  assert.ok(byName("brx", "ovsbridge"), "the OVS bridge");
  const sockets = (ns: string) => (byName(ns)?.Metadata.Sockets as { LocalPort: number; State: string }[] | undefined) ?? [];
  await waitFor("the server's socket", async () => sockets(b).some((x) => x.LocalPort === 8080 && x.State === "LISTEN"), 5000, 20);

  // Live changes, each measured from the change to the delta's arrival through the broker.
  const timed = async (what: string, change: () => void, holds: () => boolean) => {
    const t0 = Date.now();
    change();
    await waitFor(what, async () => holds(), 5000, 5);
    const ms = Date.now() - t0;
    t.diagnostic(`${what}: ${ms} ms through the broker`);
    assert.ok(ms < 1000, `${what} took ${ms} ms`);
  };
  await timed(
    "link down",
    () => ip("-n", a, "link", "set", va, "down"),
    () => byName(va)?.Metadata.State === "DOWN",
  );
  await timed(
    "MTU change",
    () => ip("-n", a, "link", "set", va, "mtu", "1300"),
    () => byName(va)?.Metadata.MTU === 1300,
  );
  await timed(
    "address added",
    () => ip("-n", a, "addr", "add", "198.18.21.1/24", "dev", va),
    () => ((byName(va)?.Metadata.IPV4 as string[] | undefined) ?? []).includes("198.18.21.1/24"),
  );
  await timed(
    "server stopped",
    () => server.kill("SIGKILL"),
    () => !sockets(b).some((x) => x.LocalPort === 8080),
  );
  await timed(
    "OVS port removed",
    () => ovs.vsctl("del-port", "brx", po),
    () => !byName(po, "ovsport"),
  );
  const vbId = byName(vb)!.ID;
  await timed(
    "veth moved",
    () => ip("-n", b, "link", "set", vb, "netns", c),
    () => !nodes.has(vbId) && [...nodes.values()].some((x) => x.Name === vb && x.ID !== vbId),
  );
  await timed(
    "namespace deleted",
    () => ip("netns", "del", a),
    // va goes with its namespace, and its peer pa with it.
    () => !byName(a) && !byName(va) && !byName(pa),
  );
  await waitFor("a heartbeat", async () => received.some((r) => r.d.Op === "HEARTBEAT"), 5000);

  // Restart: same ids for the same things.
  const keys: [string, string][] = [
    [n.id, "host"],
    [b, "netns"],
    [c, "netns"],
    [pb, "veth"],
    ["br0", "bridge"],
    ["brx", "ovsbridge"],
  ];
  const idsBefore = new Map(keys.map(([name, type]) => [`${name}/${type}`, byName(name, type)?.ID]));
  assert.equal(await agent.kill("SIGTERM"), 0, agent.output().slice(-2000));
  const snapshotsBefore = received.filter((r) => r.d.Op === "SNAPSHOT_END").length;
  nodes.clear();
  agent = await startSkystream(["agent"], env);
  await waitFor("the second snapshot", async () => received.filter((r) => r.d.Op === "SNAPSHOT_END").length > snapshotsBefore, 60_000);
  for (const [name, type] of keys) assert.equal(byName(name, type)?.ID, idsBefore.get(`${name}/${type}`), `${name} keeps its id`);
  assert.equal(await agent.kill("SIGTERM"), 0);
});
