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

test("topology deltas through Kafka: snapshot, live changes under 1 s, heartbeats, stable ids across restarts", { timeout: 180_000 }, async (t) => {
  const { bootstrap } = await testKafka();
  const n = testNames("topo");
  const topic = `${n.id}.topology`;
  const lab = new NetnsLab();
  t.after(() => lab.destroy());
  const [a, sw] = [lab.ns("a"), lab.ns("sw")];
  ip("-n", sw, "link", "add", "br0", "type", "bridge");
  const [va, pa] = lab.veth("va", a, "pa", sw);
  ip("-n", sw, "link", "set", pa, "master", "br0");
  ip("-n", a, "addr", "add", "198.18.20.1/24", "dev", va);

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
  };
  const byName = (name: string) => [...nodes.values()].find((x) => x.Name === name);
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

  // Live: link down, measured from the change to the delta's arrival through the broker.
  const t0 = Date.now();
  ip("-n", a, "link", "set", va, "down");
  await waitFor("link-down delta", async () => byName(va)?.Metadata.State === "DOWN", 5000, 5);
  const latency = Date.now() - t0;
  t.diagnostic(`link down reached the consumer in ${latency} ms`);
  assert.ok(latency < 1000, `link-down delta took ${latency} ms`);
  await waitFor("a heartbeat", async () => received.some((r) => r.d.Op === "HEARTBEAT"), 5000);

  // Restart: same ids for the same things.
  const idsBefore = new Map([n.id, a, va, pa, "br0"].map((name) => [name, byName(name)?.ID]));
  assert.equal(await agent.kill("SIGTERM"), 0, agent.output().slice(-2000));
  const snapshotsBefore = received.filter((r) => r.d.Op === "SNAPSHOT_END").length;
  nodes.clear();
  agent = await startSkystream(["agent"], env);
  await waitFor("the second snapshot", async () => received.filter((r) => r.d.Op === "SNAPSHOT_END").length > snapshotsBefore, 60_000);
  for (const [name, id] of idsBefore) assert.equal(byName(name)?.ID, id, `${name} keeps its id`);
  assert.equal(await agent.kill("SIGTERM"), 0);
});
