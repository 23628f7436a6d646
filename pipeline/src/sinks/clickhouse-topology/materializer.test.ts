// The graph materializer against the embedded engine: revisions with validity intervals, snapshots that
// replace an origin's view, retirement, the graph at past times (topology_at) and between two times,
// replays that change nothing, and a second process taking a partition over from storage.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import type { TopologyDelta, Node as AvroNode, Edge as AvroEdge } from "@skystream/schemas";
import { TopologyTables, clickhouseConfig, migrate, openStorage } from "../../storage/clickhouse/index.js";
import { Materializer } from "./materializer.js";

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const TOPIC = "skystream.topology.v1";

/** Deltas of one agent, numbered as the agent numbers them. */
function agentDeltas(origin: string, host: string) {
  let seq = 0;
  const delta = (op: TopologyDelta["Op"], time: number, extra: Partial<TopologyDelta> = {}): TopologyDelta => ({
    Op: op,
    Origin: origin,
    Host: host,
    Time: time,
    Sequence: ++seq,
    SnapshotID: "",
    Node: null,
    Edge: null,
    ...extra,
  });
  const node = (id: string, type: string, name: string, md: Partial<AvroNode["Metadata"]> = {}, rev = 1): AvroNode => ({
    ID: id,
    Host: host,
    Origin: origin,
    Type: type,
    Name: name,
    Metadata: { TID: "", MAC: "", MTU: 0, State: "", IfIndex: 0, Driver: "", IPV4: [], IPV6: [], Extra: "{}", ...md },
    CreatedAt: T0,
    UpdatedAt: T0,
    DeletedAt: null,
    Revision: rev,
  });
  const edge = (id: string, parent: string, child: string): AvroEdge => ({
    ID: id,
    Host: host,
    Origin: origin,
    Parent: parent,
    Child: child,
    RelationType: "ownership",
    Extra: "{}",
    CreatedAt: T0,
    UpdatedAt: T0,
    DeletedAt: null,
    Revision: 1,
  });
  return { delta, node, edge };
}

test("history: revisions, snapshots, deletes, retirement, At(t), diff, replays and take-over", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "skystream-topology-"));
  const cfg = clickhouseConfig.parse({ data_path: dir, database: "sky_topo" });
  const log = pino({ level: "warn" });
  const storage = await openStorage(cfg, log);
  t.after(() => storage.close());
  await migrate(storage, cfg, log);
  const tables = new TopologyTables(storage);

  const a = agentDeltas("agent.h1", "h1");
  const host = a.node("host-1", "host", "h1");
  const ns = a.node("ns-1", "netns", "blue");
  const eth = a.node("if-1", "veth", "eth0", { MTU: 1500, State: "UP", IPV4: ["198.18.0.1/24"] });
  const owns = a.edge("e-1", "ns-1", "if-1");
  const deltas: TopologyDelta[] = [
    a.delta("SNAPSHOT_BEGIN", T0, { SnapshotID: "s1" }),
    a.delta("ADD", T0, { SnapshotID: "s1", Node: host }),
    a.delta("ADD", T0, { SnapshotID: "s1", Node: ns }),
    a.delta("ADD", T0, { SnapshotID: "s1", Node: eth }),
    a.delta("ADD", T0, { SnapshotID: "s1", Edge: owns }),
    a.delta("SNAPSHOT_END", T0, { SnapshotID: "s1" }),
    // T0+10s: the MTU changes; T0+20s: the link goes down; T0+30s: the namespace and its interface go.
    a.delta("UPDATE", T0 + 10_000, { Node: { ...eth, Metadata: { ...eth.Metadata, MTU: 9000 }, Revision: 2 } }),
    a.delta("UPDATE", T0 + 20_000, { Node: { ...eth, Metadata: { ...eth.Metadata, MTU: 9000, State: "DOWN" }, Revision: 3 } }),
    a.delta("HEARTBEAT", T0 + 25_000),
    a.delta("DELETE", T0 + 30_000, { Edge: owns }),
    a.delta("DELETE", T0 + 30_000, { Node: eth }),
    a.delta("DELETE", T0 + 30_000, { Node: ns }),
  ];
  const m = new Materializer();
  deltas.forEach((d, i) => m.apply(d, TOPIC, 0, BigInt(i), T0));
  const rows = m.drain();
  // 4 adds + 2 updates + 3 deletes = 9 live rows; 2 superseded + 3 deleted = 5 archived revisions.
  assert.equal(rows.live.length, 9);
  assert.equal(rows.archive.length, 5);
  assert.deepEqual(
    rows.archive.filter((r) => r.ID === "if-1").map((r) => [r.ValidFrom - T0, r.ValidTo - T0, r.DeletedAt === null ? null : r.DeletedAt - T0]),
    [
      [0, 10_000, null],
      [10_000, 20_000, null],
      [20_000, 30_000, 30_000],
    ],
  );
  await tables.write(rows);

  // Applying the same deltas again (a replay from an older committed offset) writes nothing.
  deltas.forEach((d, i) => m.apply(d, TOPIC, 0, BigInt(i), T0));
  const again = m.drain();
  assert.equal(again.live.length + again.archive.length, 0, "a replay makes no revision");

  const names = (g: { nodes: { Name: string }[] }) => g.nodes.map((n) => n.Name).sort();
  const mtuOf = async (t: number) => {
    const g = await tables.at(t);
    const e = g.nodes.find((n) => n.ID === "if-1");
    return e ? (JSON.parse(e.Metadata) as { MTU: number; State: string }) : undefined;
  };
  assert.deepEqual(names(await tables.at(T0 - 1)), [], "nothing before the first snapshot");
  assert.deepEqual(names(await tables.at(T0 + 5_000)), ["blue", "eth0", "h1"]);
  assert.equal((await mtuOf(T0 + 5_000))?.MTU, 1500);
  assert.equal((await mtuOf(T0 + 15_000))?.MTU, 9000);
  assert.equal((await mtuOf(T0 + 15_000))?.State, "UP");
  assert.equal((await mtuOf(T0 + 25_000))?.State, "DOWN");
  assert.equal((await tables.at(T0 + 25_000)).edges.length, 1);
  assert.deepEqual(names(await tables.at(T0 + 35_000)), ["h1"], "the deleted namespace is gone now");
  assert.equal((await tables.at(T0 + 35_000)).edges.length, 0);
  // ... and its history is kept.
  const history = await storage.client.query({ query: `SELECT count() AS n FROM sky_topo.topology_history WHERE ID = 'if-1'`, format: "JSONEachRow" });
  assert.equal(Number((await history.json<{ n: string }>())[0]!.n), 3);
  const current = await storage.client.query({ query: `SELECT Name FROM sky_topo.nodes ORDER BY Name`, format: "JSONEachRow" });
  assert.deepEqual(await current.json(), [{ Name: "h1" }]);

  // Over a period: everything that existed in it, each in its last revision there.
  const during = await tables.during(T0 + 5_000, T0 + 35_000);
  assert.deepEqual(names(during), ["blue", "eth0", "h1"], "the namespace deleted in the period is in it");
  assert.equal(JSON.parse(during.nodes.find((n) => n.ID === "if-1")!.Metadata).State, "DOWN", "in its last revision of the period");
  assert.deepEqual(names(await tables.during(T0 + 31_000, T0 + 35_000)), ["h1"]);

  const d = await tables.diff(T0 + 5_000, T0 + 35_000);
  assert.deepEqual(d.deleted.map((r) => r.ID).sort(), ["e-1", "if-1", "ns-1"]);
  assert.equal(d.added.length, 0);
  const d2 = await tables.diff(T0 + 5_000, T0 + 15_000);
  assert.deepEqual(
    d2.changed.map((c) => [c.before.ID, JSON.parse(c.before.Metadata).MTU, JSON.parse(c.after.Metadata).MTU]),
    [["if-1", 1500, 9000]],
  );

  // A new snapshot (agent restarted) that no longer has the host node: it is deleted at SNAPSHOT_END;
  // re-sent elements whose content did not change make no revision.
  const b = agentDeltas("agent.h1", "h1");
  const br = b.node("br-1", "bridge", "br0");
  const snap = [
    b.delta("SNAPSHOT_BEGIN", T0 + 40_000, { SnapshotID: "s2" }),
    b.delta("ADD", T0 + 40_000, { SnapshotID: "s2", Node: br }),
    b.delta("SNAPSHOT_END", T0 + 40_000, { SnapshotID: "s2" }),
  ];
  snap.forEach((d, i) => m.apply(d, TOPIC, 0, BigInt(100 + i), T0));
  assert.equal(m.holdOffset(TOPIC, 0), undefined, "no snapshot open");
  const r2 = m.drain();
  assert.deepEqual(r2.live.map((r) => [r.ID, r.Deleted]).sort(), [
    ["br-1", 0],
    ["host-1", 1],
  ]);
  await tables.write(r2);
  assert.deepEqual(names(await tables.at(T0 + 45_000)), ["br0"]);

  // While a snapshot is open its partition is held at SNAPSHOT_BEGIN.
  const c = agentDeltas("agent.h2", "h2");
  m.apply(c.delta("SNAPSHOT_BEGIN", T0 + 50_000, { SnapshotID: "s3" }), TOPIC, 1, 7n, T0);
  m.apply(c.delta("ADD", T0 + 50_000, { SnapshotID: "s3", Node: c.node("host-2", "host", "h2") }), TOPIC, 1, 8n, T0);
  assert.equal(m.holdOffset(TOPIC, 1), 7n);
  m.apply(c.delta("SNAPSHOT_END", T0 + 50_000, { SnapshotID: "s3" }), TOPIC, 1, 9n, T0);
  assert.equal(m.holdOffset(TOPIC, 1), undefined);
  await tables.write(m.drain());

  // Another process takes partition 0 over: it loads the origin from storage, and a replay of the
  // whole partition changes nothing.
  const m2 = new Materializer();
  const stored = await tables.loadPartition(TOPIC, 0, T0 - 3_600_000);
  assert.deepEqual(
    stored.origins.map((o) => o.Origin),
    ["agent.h1"],
  );
  assert.deepEqual(stored.live.map((r) => r.ID).sort(), ["br-1"]);
  m2.load(stored.origins, stored.live, stored.tombstones, T0 + 41_000);
  [...deltas, ...snap].forEach((d, i) => m2.apply(d, TOPIC, 0, BigInt(i), T0 + 41_000));
  const replay = m2.drain();
  assert.equal(replay.live.length + replay.archive.length, 0, "the new owner repeats nothing");

  // Heartbeats stop: agent.h1 is retired after retire_after; its elements get DeletedAt, history stays.
  const now = T0 + 41_000 + 61_000;
  assert.deepEqual(m2.retire(new Set([`${TOPIC}\u00000`]), 60_000, now), ["agent.h1"]);
  const retired = m2.drain();
  assert.deepEqual(
    retired.live.map((r) => [r.ID, r.Deleted]),
    [["br-1", 1]],
  );
  assert.equal(retired.origins[0]?.Retired, 1);
  await tables.write(retired);
  assert.deepEqual(names(await tables.at(now + 1)), ["h2"]);
  assert.deepEqual(names(await tables.at(T0 + 45_000)), ["br0"], "the past is unchanged");
});
