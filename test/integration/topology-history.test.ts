// A lab whose topology changes over time: a real agent watches it, deltas go through the real broker to
// a real pipeline process that materializes the graph's history in chDB. Afterwards the graph at each
// instant (topology_at) is the lab as it was then; a deleted namespace keeps its history; an agent whose
// heartbeats stop is retired.
import { test } from "node:test";
import assert from "node:assert/strict";
import pino from "pino";
import { createBus, kafkaConfig, totalLag } from "@skystream/common";
import { TopologyTables, type TopologyRevision } from "@skystream/pipeline/storage/clickhouse/index";
import { testKafka } from "../harness/kafka.ts";
import { openChdb, queryRows } from "../harness/clickhouse.ts";
import { NetnsLab, ip } from "../harness/netns-lab.ts";
import { startSkystream, waitFor } from "../harness/skystream-process.ts";
import { agentEnv, pipelineEnv, testNames } from "../harness/names.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("topology history through Kafka: At(t) at several instants, deleted namespace kept in history, silent agent retired", { timeout: 240_000 }, async (t) => {
  const { bootstrap } = await testKafka();
  const n = testNames("history");
  const topic = n.topology;
  const lab = new NetnsLab();
  t.after(() => lab.destroy());
  const [a, b] = [lab.ns("a"), lab.ns("b")];
  const [va] = lab.veth("va", a, "vb", b);

  const pipeline = await startSkystream(["pipeline"], pipelineEnv(n, bootstrap, {}, { flush_interval: "200ms", retire_after: "5s" }));
  t.after(() => pipeline.kill("SIGKILL"));
  await pipeline.waitForOutput(/pipeline running/);

  const agent = await startSkystream(
    ["agent"],
    agentEnv(n, bootstrap, {
      SKYSTREAM_AGENT_TOPOLOGY_HEARTBEAT: "1s",
      SKYSTREAM_AGENT_TOPOLOGY_PROBES: JSON.stringify({ host: {}, netlink: {} }),
    }),
  );
  t.after(() => agent.kill("SIGKILL"));
  const written = () => pipeline.metric("skystream_sink_rows_inserted_total", { sink: "clickhouse_topology" });
  await waitFor("the snapshot in ClickHouse", async () => ((await written()) > 0 ? true : undefined), 60_000).catch((e: Error) => {
    throw new Error(`${e.message}\n${agent.output().slice(-2000)}\n${pipeline.output().slice(-2000)}`);
  });

  // Each instant is taken 3 s after a change (the agent sees a change in well under a second, but the machine may be busy).
  const at: number[] = [];
  const step = async (change: () => void) => {
    change();
    await sleep(3000);
    at.push(Date.now());
  };
  await step(() => undefined); // t0: as it started
  await step(() => ip("-n", a, "link", "set", va, "mtu", "1400")); // t1
  const c = lab.ns("c");
  await step(() => lab.veth("vc", c, "vd", b)); // t2: a third namespace, linked to b
  await step(() => ip("netns", "del", a)); // t3: namespace a deleted (its veth pair with it)
  const beforeRetire = Date.now();
  await agent.kill("SIGKILL");
  // Heartbeats stop: retired after 5 s (checked every ~1.25 s).
  await waitFor(
    "the agent's retirement",
    async () => ((await pipeline.metric("skystream_topology_origins_retired_total")) > 0 ? true : undefined),
    30_000,
  ).catch((e: Error) => {
    throw new Error(`${e.message}\n${pipeline.output().slice(-3000)}`);
  });
  await sleep(500);
  const afterRetire = Date.now();

  const bus = createBus("kafka", kafkaConfig.parse({ brokers: [bootstrap] }), pino({ level: "silent" }));
  t.after(() => bus.close());
  await waitFor("the materializer to catch up", async () => (totalLag(await bus.lag(`${n.group}.topology`, topic)) === 0 ? true : undefined), 30_000);
  assert.equal(await pipeline.kill("SIGTERM"), 0, pipeline.output().slice(-2000));

  const client = openChdb(n.dataDir);
  t.after(() => client.close());
  const tables = new TopologyTables({ client, database: "skystream" } as ConstructorParameters<typeof TopologyTables>[0]);
  const graph = async (time: number) => {
    const g = await tables.at(time);
    const mine = g.nodes.filter((x) => x.Host === n.id);
    const find = (name: string, type?: string) => mine.find((x) => x.Name === name && (!type || x.Type === type));
    return { g, mine, find };
  };
  const md = (r: TopologyRevision | undefined) => (r ? (JSON.parse(r.Metadata) as Record<string, unknown>) : undefined);

  const g0 = await graph(at[0]!);
  assert.ok(g0.find(a, "netns") && g0.find(b, "netns"), "both namespaces at t0");
  assert.equal(md(g0.find(va))?.MTU, 1500, "MTU 1500 at t0");
  assert.equal(g0.find(c, "netns"), undefined, "c did not exist at t0");
  const ownsVa = g0.g.edges.find((e) => e.Child === g0.find(va)!.ID && e.Parent === g0.find(a, "netns")!.ID);
  assert.ok(ownsVa, "a owns va at t0");

  const g1 = await graph(at[1]!);
  assert.equal(md(g1.find(va))?.MTU, 1400, "MTU 1400 at t1");
  assert.equal(g1.find(c, "netns"), undefined);

  const g2 = await graph(at[2]!);
  assert.ok(g2.find(c, "netns"), "c at t2");
  assert.ok(g2.find(`${lab.p}vc`), "its veth at t2");
  assert.ok(g2.find(a, "netns"), "a still at t2");

  const g3 = await graph(at[3]!);
  assert.equal(g3.find(a, "netns"), undefined, "a deleted at t3");
  assert.equal(g3.find(va), undefined, "va gone with it");
  assert.ok(g3.find(b, "netns") && g3.find(c, "netns"));
  assert.equal(
    g3.g.edges.find((e) => e.ID === ownsVa!.ID),
    undefined,
    "the ownership edge went too",
  );
  assert.ok((await graph(beforeRetire)).mine.length > 0, "the host's graph before the agent went silent");
  assert.equal((await graph(afterRetire)).mine.length, 0, "retired: nothing of the silent agent is live");

  // The deleted namespace's whole history is kept: its revisions, the last one with DeletedAt.
  const nsA = g0.find(a, "netns")!;
  const revs = await queryRows<{ DeletedAt: string | null }>(
    client,
    `SELECT DeletedAt FROM skystream.topology_history WHERE ID = '${nsA.ID}' ORDER BY ValidFrom`,
  );
  assert.ok(revs.length >= 1);
  assert.notEqual(revs.at(-1)!.DeletedAt, null, "its last revision says when it was deleted");
  const origins = await queryRows<{ Retired: number }>(client, `SELECT Retired FROM skystream.topology_origins FINAL WHERE Origin = 'agent.${n.id}'`);
  assert.deepEqual(origins, [{ Retired: 1 }]);
  const diff = await tables.diff(at[0]!, at[3]!);
  assert.ok(diff.deleted.some((r) => r.ID === nsA.ID) && diff.added.some((r) => r.Name === c));
});
