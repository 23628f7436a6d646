// Flow enrichment on a real lab: a TCP server process in namespace b, a client process in namespace a;
// the agent captures on a's veth and reports the topology and the sockets; the pipeline enriches the
// flow through the real broker. The flow in ClickHouse and on the enriched topic is attributed to both
// processes, both interfaces and namespaces, with b as the server; and the flow matrix has the pair.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readlinkSync } from "node:fs";
import pino from "pino";
import { AvroCodec, FLOW_RECORD, readFrame, type FlowRecord } from "@skystream/schemas";
import { createBus, kafkaConfig, totalLag, type BusMessage } from "@skystream/common";
import { testKafka } from "../harness/kafka.ts";
import { openChdb, queryRows } from "../harness/clickhouse.ts";
import { NetnsLab } from "../harness/netns-lab.ts";
import { startSkystream, waitFor } from "../harness/skystream-process.ts";
import { agentEnv, pipelineEnv, testNames } from "../harness/names.ts";

const SERVER = `
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.18.80.2", 8080)); s.listen()
while True:
    c, _ = s.accept()
    while True:
        d = c.recv(65536)
        if not d: break
        c.sendall(d[:100])
    c.close()
`;
// One connection held for 4 s (socketinfo polls every 200 ms): 20 requests of 1000 bytes.
const CLIENT = `
import socket, time
c = socket.create_connection(("198.18.80.2", 8080))
for i in range(20):
    c.sendall(b"q" * 1000); c.recv(65536); time.sleep(0.2)
c.close()
`;

// A UDP service the other way round: listening in a, asked from b.
const UDP_SERVER = `
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("198.18.80.1", 9999))
while True:
    d, peer = s.recvfrom(65536); s.sendto(d[:50], peer)
`;
const UDP_CLIENT = `
import socket, time
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); c.connect(("198.18.80.1", 9999)); c.settimeout(5)
for i in range(10):
    c.send(b"u" * 200); c.recv(65536); time.sleep(0.2)
`;

test(
  "enrichment on a real lab: both processes, interfaces and namespaces of a flow, server side, enriched topic and flow matrix",
  { timeout: 240_000 },
  async (t) => {
    const { bootstrap } = await testKafka();
    const n = testNames("enrich");
    const topics = { topology: n.topology, enriched: n.enriched };
    const lab = new NetnsLab();
    t.after(() => lab.destroy());
    const { a, b, va, vb } = lab.pair("198.18.80");
    const server = spawn("ip", ["netns", "exec", b, "python3", "-c", SERVER], { stdio: "ignore" });
    t.after(() => server.kill("SIGKILL"));
    const udpServer = spawn("ip", ["netns", "exec", a, "python3", "-c", UDP_SERVER], { stdio: "ignore" });
    t.after(() => udpServer.kill("SIGKILL"));
    // `ip netns exec` execs the program in place: the pid is python's, and so is its executable.
    await new Promise((r) => setTimeout(r, 300));
    const python = readlinkSync(`/proc/${server.pid}/exe`);

    const pipeline = await startSkystream(["pipeline"], pipelineEnv(n, bootstrap, { batch_timeout: "300ms" }, { flush_interval: "200ms" }));
    t.after(() => pipeline.kill("SIGKILL"));
    await pipeline.waitForOutput(/pipeline running/);

    const agent = await startSkystream(
      ["agent"],
      agentEnv(n, bootstrap, {
        SKYSTREAM_AGENT_FLOW_TABLE_UPDATE: "1s",
        SKYSTREAM_AGENT_TOPOLOGY_PROBES: JSON.stringify({ host: {}, netlink: {}, socketinfo: { interval: "200ms" } }),
        SKYSTREAM_AGENT_FLOW_PROBES: JSON.stringify({ pcap: { interface: va, netns: a } }),
      }),
    );
    t.after(() => agent.kill("SIGKILL"));
    await waitFor(
      "the topology in the pipeline",
      async () => ((await pipeline.metric("skystream_sink_rows_inserted_total", { sink: "clickhouse_topology" })) > 0 ? true : undefined),
      60_000,
    );
    await agent.waitForOutput(/pcap|capture/i, 30_000);
    await new Promise((r) => setTimeout(r, 1500)); // the server's listening socket reported

    // The users' side: a consumer of the enriched topic.
    const codec = new AvroCodec();
    const enriched: FlowRecord[] = [];
    const bus = createBus("kafka", kafkaConfig.parse({ brokers: [bootstrap] }), pino({ level: "silent" }));
    t.after(() => bus.close());
    await bus.ensureTopics([{ topic: topics.enriched, partitions: 3, replicationFactor: 1 }]);
    const consumer = bus.consumer(`${n.id}-reader`);
    await consumer.connect();
    await consumer.subscribe([topics.enriched], true);
    await consumer.run({
      onBatch: async (batch) => {
        for (const m of batch.messages as BusMessage[]) {
          assert.equal(readFrame(m.value!).schemaId, codec.writerFor(FLOW_RECORD).id, "enriched records use the newest FlowRecord version");
          enriched.push(codec.decode<FlowRecord>(m.value!, FLOW_RECORD).value);
        }
      },
    });
    t.after(() => consumer.disconnect());

    const client = spawn("ip", ["netns", "exec", a, "python3", "-c", CLIENT], { stdio: ["ignore", "ignore", "pipe"] });
    let clientErr = "";
    client.stderr!.on("data", (d: Buffer) => (clientErr += d.toString()));
    const clientPid = client.pid!;
    const clientExit = new Promise((r) => client.once("exit", r));
    const duringConnections = Date.now() + 1500;
    const udpClient = spawn("ip", ["netns", "exec", b, "python3", "-c", UDP_CLIENT], { stdio: "ignore" });
    const udpExit = new Promise((r) => udpClient.once("exit", r));
    assert.equal(await clientExit, 0, clientErr);
    assert.equal(await udpExit, 0);

    const isOurs = (f: FlowRecord) => f.Transport?.B === 8080 && f.Network?.A === "198.18.80.1";
    await waitFor(
      "the enriched flow's last update on the topic",
      async () => (enriched.filter(isOurs).some((f) => f.FinishType !== "NOT_FINISHED" && f.FinishType !== undefined) ? true : undefined),
      60_000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\nenriched: ${enriched.length}\n${pipeline.output().slice(-3000)}\n${agent.output().slice(-2000)}`);
    });
    const mine = enriched.filter(isOurs);
    const last = mine.at(-1)!;
    const e = last.Enrichment!;
    assert.ok(e, "enriched");
    assert.equal(e.CaptureNode?.Name, va, "captured on va");
    assert.equal(e.A?.Node?.Name, va, "A is va");
    assert.equal(e.A?.Netns, a);
    assert.equal(e.B?.Node?.Name, vb, "B is vb, found by its MAC");
    assert.equal(e.B?.Netns, b);
    assert.equal(e.Server, "B", "b listens on 8080");
    assert.equal(e.B?.Process?.Name, "python3", "the server process");
    assert.equal(e.B?.Process?.Process, python);
    assert.equal(e.B?.Process?.Pid, server.pid, "the server's pid");
    assert.equal(e.A?.Process?.Name, "python3", "the client process");
    assert.equal(e.A?.Process?.Pid, clientPid, "the client's pid");
    assert.notEqual(e.B?.Process?.Pid, e.A?.Process?.Pid);

    await waitFor("the flows sink to catch up", async () => (totalLag(await bus.lag(n.group, n.flows)) === 0 ? true : undefined), 30_000);
    assert.equal(await pipeline.kill("SIGTERM"), 0, pipeline.output().slice(-2000));
    const ch = openChdb(n.dataDir);
    t.after(() => ch.close());
    const rows = await queryRows<Record<string, string | number>>(
      ch,
      `SELECT "A.Node.Name" an, "B.Node.Name" bn, "A.Netns" ans, "B.Netns" bns, "A.Process.Pid" ap, "B.Process.Name" bp, Server
     FROM skystream.flows WHERE "Transport.B" = 8080 AND "Network.A" = '198.18.80.1' ORDER BY Time DESC LIMIT 1`,
    );
    assert.deepEqual(rows, [{ an: va, bn: vb, ans: a, bns: b, ap: clientPid, bp: "python3", Server: "B" }]);
    const matrix = await queryRows<Record<string, string | number>>(
      ch,
      `SELECT Protocol, Server, replaceRegexpOne(toString(ServerIP), '^::ffff:', '') AS ServerIP, Port, ServerProc, ServerProcName,
            Client, replaceRegexpOne(toString(ClientIP), '^::ffff:', '') AS ClientIP, ClientProc, ClientProcName,
            sum(ClientToServerBytes) AS up, sum(ServerToClientBytes) AS down, sum(Flows) AS flows
     FROM skystream.flow_matrix GROUP BY Protocol, Server, ServerIP, Port, ServerProc, ServerProcName, Client, ClientIP, ClientProc, ClientProcName`,
    );
    // The hourly rollup holds the same matrix.
    const hourly = await queryRows<Record<string, string | number>>(
      ch,
      `SELECT Protocol, Port, sum(ClientToServerBytes) AS up, sum(ServerToClientBytes) AS down, sum(Flows) AS flows FROM skystream.flow_matrix_1h GROUP BY Protocol, Port ORDER BY Protocol`,
    );
    assert.deepEqual(
      hourly.map((r) => [r.Protocol, Number(r.Port), Number(r.up), Number(r.down), Number(r.flows)]),
      [...matrix]
        .sort((x, y) => String(x.Protocol).localeCompare(String(y.Protocol)))
        .map((r) => [r.Protocol, Number(r.Port), Number(r.up), Number(r.down), Number(r.flows)]),
    );
    // The expected table: skydive-flow-matrix's columns, one row per service and client.
    const table = matrix
      .map((r) =>
        [r.Protocol, r.Server, r.ServerIP, Number(r.Port), r.ServerProc, r.ServerProcName, r.Client, r.ClientIP, r.ClientProc, r.ClientProcName].join(","),
      )
      .sort();
    assert.deepEqual(table, [
      ["TCP", n.id, "198.18.80.2", 8080, python, "python3", n.id, "198.18.80.1", python, "python3"].join(","),
      ["UDP", n.id, "198.18.80.1", 9999, python, "python3", n.id, "198.18.80.2", python, "python3"].join(","),
    ]);
    // The same table from socket knowledge alone, as it was while the connections were up.
    const sockets = await queryRows<Record<string, string | number>>(
      ch,
      // (the host's own namespace has its sockets too: the Kafka broker's, this test's.)
      `SELECT * FROM skystream.socket_matrix(t = fromUnixTimestamp64Milli(${duringConnections})) WHERE ServerNetns IN ('${a}', '${b}')`,
    );
    assert.deepEqual(
      sockets
        .map((r) =>
          [r.Protocol, r.Server, r.ServerIP, Number(r.Port), r.ServerProc, r.ServerProcName, r.Client, r.ClientIP, r.ClientProc, r.ClientProcName].join(","),
        )
        .sort(),
      table,
      "socket_matrix",
    );
    assert.deepEqual([...new Set(sockets.map((r) => `${r.ServerNetns}<-${r.ClientNetns}`))].sort(), [`${a}<-${b}`, `${b}<-${a}`]);
    const m = matrix.find((r) => r.Protocol === "TCP")!;
    const u = matrix.find((r) => r.Protocol === "UDP")!;
    // UDP: 10 datagrams of 200 bytes to the server, 10 of 50 back (+ 42 bytes of headers each).
    assert.deepEqual([Number(u.up), Number(u.down)], [10 * 242, 10 * 92]);
    assert.equal(Number(m.flows), 1, "one connection");
    assert.equal(Number(u.flows), 1, "one UDP flow");
    // 20 requests of 1000 bytes up, 20 answers of 100 bytes down (payload), plus TCP/IP/Ethernet headers.
    assert.ok(Number(m.up) > 20_000 && Number(m.up) < 25_000, `up ${m.up}`);
    assert.ok(Number(m.down) > 2_000 && Number(m.down) < 6_000, `down ${m.down}`);
  },
);
