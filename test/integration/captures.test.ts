// Captures on demand through the real broker: `skystream capture create` puts an order on the control
// topic; a real agent process starts the capture on the matching node of its graph (a veth in a
// namespace, an OVS bridge through OVS sFlow), its flows carry the capture's id, the node shows the
// capture in Metadata.Captures; deleting the capture, or its TTL ending, stops it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import pino from "pino";
import { AvroCodec, FLOW_RECORD, TOPOLOGY_DELTA, type FlowRecord, type TopologyDelta } from "@skystream/schemas";
import { createBus, kafkaConfig } from "@skystream/common";
import { nodeFromAvro } from "@skystream/agent/graph/delta";
import type { GraphNode } from "@skystream/agent/graph/graph";
import { testKafka } from "../harness/kafka.ts";
import { NetnsLab, ip } from "../harness/netns-lab.ts";
import { startSkystream, waitFor } from "../harness/skystream-process.ts";
import { testNames } from "../harness/names.ts";
import { startOvs } from "../harness/ovs.ts";

const BIN = fileURLToPath(new URL("../../pipeline/bin/skystream.js", import.meta.url));
const run = promisify(execFile);

test(
  "captures on demand through Kafka: create → flows with its CaptureID and Captures on the node; delete or TTL → they stop",
  { timeout: 240_000 },
  async (t) => {
    const { bootstrap } = await testKafka();
    const n = testNames("capture");
    const topics = { flows: `${n.id}.flows`, topology: `${n.id}.topology`, control: `${n.id}.control` };
    const lab = new NetnsLab();
    t.after(() => lab.destroy());
    const [a, b, c, d, ovsNs] = [lab.ns("a"), lab.ns("b"), lab.ns("c"), lab.ns("d"), lab.ns("ovs")];
    const [va, vb] = lab.veth("va", a, "vb", b);
    ip("-n", a, "addr", "add", "198.18.60.1/24", "dev", va);
    ip("-n", b, "addr", "add", "198.18.60.2/24", "dev", vb);
    // An OVS bridge between c and d; its sFlow goes to the agent over a veth from the OVS namespace.
    const ovs = startOvs(ovsNs);
    t.after(() => ovs.stop());
    ovs.vsctl("add-br", "brc", "--", "set", "bridge", "brc", "datapath_type=netdev");
    const [vc, pc] = lab.veth("vc", c, "pc", ovsNs);
    const [vd, pd] = lab.veth("vd", d, "pd", ovsNs);
    ovs.vsctl("add-port", "brc", pc);
    ovs.vsctl("add-port", "brc", pd);
    ip("-n", c, "addr", "add", "198.18.62.1/24", "dev", vc);
    ip("-n", d, "addr", "add", "198.18.62.2/24", "dev", vd);
    const [toOvs, fromRoot] = lab.veth("sr", "", "so", ovsNs);
    ip("addr", "add", "198.18.61.1/24", "dev", toOvs);
    ip("-n", ovsNs, "addr", "add", "198.18.61.2/24", "dev", fromRoot);

    // Steady UDP traffic a → b and c → d (through OVS) for the whole test.
    const sender = (ns: string, dst: string) =>
      spawn(
        "ip",
        [
          "netns",
          "exec",
          ns,
          "python3",
          "-c",
          `import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nwhile True:\n  s.sendto(b'x'*200,('${dst}',9999)); time.sleep(0.05)`,
        ],
        { stdio: "ignore" },
      );
    const senders = [sender(a, "198.18.60.2"), sender(c, "198.18.62.2")];
    t.after(() => senders.forEach((s) => s.kill("SIGKILL")));

    const codec = new AvroCodec();
    const flows: { at: number; f: FlowRecord }[] = [];
    const nodes = new Map<string, GraphNode>();
    const bus = createBus("kafka", kafkaConfig.parse({ brokers: [bootstrap] }), pino({ level: "silent" }));
    t.after(() => bus.close());
    await bus.ensureTopics([
      { topic: topics.flows, partitions: 3, replicationFactor: 1 },
      { topic: topics.topology, partitions: 1, replicationFactor: 1 },
    ]);
    const consumer = bus.consumer(`${n.id}-reader`);
    await consumer.connect();
    await consumer.subscribe([topics.flows, topics.topology], true);
    await consumer.run({
      onBatch: async (batch) => {
        for (const m of batch.messages) {
          if (batch.topic === topics.flows) flows.push({ at: Date.now(), f: codec.decode<FlowRecord>(m.value!, FLOW_RECORD).value });
          else {
            const delta = codec.decode<TopologyDelta>(m.value!, TOPOLOGY_DELTA).value;
            if (delta.Node) {
              if (delta.Op === "DELETE") nodes.delete(delta.Node.ID);
              else nodes.set(delta.Node.ID, nodeFromAvro(delta.Node));
            }
          }
        }
      },
    });
    t.after(() => consumer.disconnect());

    const env = {
      SKYSTREAM_KAFKA_BROKERS: bootstrap,
      SKYSTREAM_AGENT_HOST_ID: n.id,
      SKYSTREAM_AGENT_TOPOLOGY_TOPIC: topics.topology,
      SKYSTREAM_AGENT_FLOW_TOPIC: topics.flows,
      SKYSTREAM_AGENT_CAPTURES_TOPIC: topics.control,
      SKYSTREAM_AGENT_CAPTURES_SFLOW_ADDRESS: "198.18.61.1",
      SKYSTREAM_AGENT_CAPTURES_OVSDB: `unix:${ovs.socket}`,
      SKYSTREAM_AGENT_FLOW_TABLE_UPDATE: "1s",
      SKYSTREAM_AGENT_TOPOLOGY_PROBES: JSON.stringify({ host: {}, netlink: {}, ovsdb: { address: `unix:${ovs.socket}` } }),
    };
    const agent = await startSkystream(["agent"], env);
    t.after(() => agent.kill("SIGKILL"));
    const byName = (name: string, type?: string) => [...nodes.values()].find((x) => x.Name === name && (!type || x.Type === type));
    await waitFor("the lab in the agent's graph", async () => byName(va) && byName("brc", "ovsbridge"), 60_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${agent.output().slice(-3000)}`);
    });
    const cli = async (...args: string[]) => (await run(process.execPath, [BIN, "capture", ...args], { env: { ...process.env, ...env } })).stdout;
    const capturesOn = (name: string, type?: string) =>
      (byName(name, type)?.Metadata.Captures as { ID: string; State: string; Type: string }[] | undefined) ?? [];
    const flowsOf = (id: string) => flows.filter((x) => x.f.CaptureID === id);

    // 1. An afpacket capture on the veth in namespace a.
    const cap1 = JSON.parse(await cli("create", "--gremlin", `G.V().Has('Name', '${va}', 'Type', 'veth')`, "--bpf", "udp port 9999", "--name", "a-to-b")) as {
      UUID: string;
    };
    await waitFor("flows of capture 1", async () => flowsOf(cap1.UUID).length > 0 || undefined, 30_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${agent.output().slice(-3000)}`);
    });
    const f1 = flowsOf(cap1.UUID)[0]!.f;
    assert.deepEqual([f1.Network?.A, f1.Network?.B, f1.Transport?.B, f1.CaptureType], ["198.18.60.1", "198.18.60.2", 9999, "afpacket"]);
    assert.equal(f1.NodeTID, byName(va)!.Metadata.TID, "NodeTID is the captured interface's");
    await waitFor("Captures on the veth node", async () => capturesOn(va).some((x) => x.ID === cap1.UUID && x.State === "active") || undefined, 10_000);
    assert.match(await cli("list"), new RegExp(cap1.UUID), "the capture is listed while in force");

    await cli("delete", cap1.UUID);
    await waitFor("Captures gone from the veth node", async () => capturesOn(va).length === 0 || undefined, 15_000);
    await new Promise((r) => setTimeout(r, 2500));
    const afterDelete = flowsOf(cap1.UUID).length;
    await new Promise((r) => setTimeout(r, 3500));
    assert.equal(flowsOf(cap1.UUID).length, afterDelete, "no flows of a deleted capture while traffic goes on");

    // 2. An OVS bridge: ovssflow by default, with a TTL.
    const cap2 = JSON.parse(await cli("create", "--gremlin", "G.V().Has('Type', 'ovsbridge', 'Name', 'brc')", "--ttl", "12s", "--polling-interval", "1")) as {
      UUID: string;
    };
    await waitFor("flows of capture 2 (OVS sFlow)", async () => flowsOf(cap2.UUID).some((x) => x.f.Network?.A === "198.18.62.1") || undefined, 40_000).catch(
      (e: Error) => {
        throw new Error(`${e.message}\n${agent.output().slice(-3000)}`);
      },
    );
    const f2 = flowsOf(cap2.UUID).find((x) => x.f.Network?.A === "198.18.62.1")!.f;
    assert.equal(f2.CaptureType, "sflow");
    assert.equal(f2.SamplingRate, 1);
    assert.equal(f2.NodeTID, byName("brc", "ovsbridge")!.Metadata.TID);
    assert.ok(f2.Exporter?.Address, "the exporting OVS");
    assert.match(ovs.vsctl("get", "bridge", "brc", "sflow"), /^[0-9a-f-]{36}$/m, "OVS sFlow configured by the agent");
    assert.match(ovs.vsctl("list", "sflow"), new RegExp(`skystream-capture-id.*${cap2.UUID}`));
    assert.ok(capturesOn("brc", "ovsbridge").some((x) => x.ID === cap2.UUID && x.Type === "ovssflow"));
    // The TTL ends it: OVS export removed, Captures gone, flows stop.
    await waitFor("capture 2 ended by its TTL", async () => ovs.vsctl("get", "bridge", "brc", "sflow").trim() === "[]" || undefined, 30_000);
    await waitFor("Captures gone from the bridge", async () => capturesOn("brc", "ovsbridge").length === 0 || undefined, 10_000);
    await new Promise((r) => setTimeout(r, 2500));
    const afterTtl = flowsOf(cap2.UUID).length;
    await new Promise((r) => setTimeout(r, 3500));
    assert.equal(flowsOf(cap2.UUID).length, afterTtl, "no flows after the TTL");
    assert.doesNotMatch(await cli("list"), new RegExp(cap2.UUID), "an expired capture is not listed");
  },
);
