// /ws/subscriber and /api/status on the query API as the all-in-one runs it: topology deltas on an
// in-process bus, the API following them, a WebSocket client seeing the graph and its changes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { WebSocket } from "ws";
import { startTestApi } from "./testing.js";

interface Msg {
  Namespace: string;
  Type: string;
  Status?: number;
  Obj: { ID?: string; Metadata?: Record<string, unknown>; Nodes?: { ID: string }[]; error?: string };
}

/** A WebSocket client that collects messages and waits for one that matches. */
async function client(url: string, headers: Record<string, string> = {}) {
  const ws = new WebSocket(url, { headers });
  const got: Msg[] = [];
  const waiting: { test: (m: Msg) => boolean; resolve: (m: Msg) => void }[] = [];
  ws.on("message", (d) => {
    const m = JSON.parse(String(d)) as Msg;
    got.push(m);
    for (const w of [...waiting])
      if (w.test(m)) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve(m);
      }
  });
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  return {
    ws,
    got,
    next: (test: (m: Msg) => boolean, ms = 10_000) =>
      new Promise<Msg>((resolve, reject) => {
        const seen = got.find(test);
        if (seen) return resolve(seen);
        waiting.push({ test, resolve });
        setTimeout(() => reject(new Error(`no message matching in ${ms} ms; got ${JSON.stringify(got.map((g) => g.Type))}`)), ms).unref();
      }),
  };
}

test("/ws/subscriber: sync then node and edge events, filtered by Gremlin; SyncRequest; /api/status", async (t) => {
  const s = await startTestApi();
  t.after(() => s.close());
  await s.publish(["ADD", { ID: "ns1", Type: "netns", Name: "blue" }], ["ADD", { ID: "if1", Name: "eth0" }]);
  const api = s.api;
  await api.follower.ready;
  await new Promise((r) => setTimeout(r, 200));
  const base = api.address.replace("http", "ws");
  const publish = s.publish;

  const all = await client(`${base}/ws/subscriber`);
  t.after(() => all.ws.close());
  const sync = await all.next((m) => m.Type === "SyncReply");
  assert.equal(sync.Status, 200);
  await new Promise((r) => setTimeout(r, 200));
  const filtered = await client(`${base}/ws/subscriber`, { "X-Gremlin-Filter": "G.V().Has('Type', 'netns')" });
  t.after(() => filtered.ws.close());
  const fsync = await filtered.next((m) => m.Type === "SyncReply");
  assert.deepEqual(
    fsync.Obj.Nodes!.map((n) => n.ID),
    ["ns1"],
  );

  await publish(["ADD", { ID: "ns2", Type: "netns", Name: "red" }]);
  assert.equal((await all.next((m) => m.Type === "NodeAdded" && m.Obj.ID === "ns2")).Obj.Metadata!.Name, "red");
  assert.equal((await filtered.next((m) => m.Type === "NodeAdded" && m.Obj.ID === "ns2")).Obj.Metadata!.Name, "red");

  await publish(["UPDATE", { ID: "if1", Name: "eth0", Metadata: { MTU: 9000, State: "DOWN" } }]);
  assert.equal((await all.next((m) => m.Type === "NodeUpdated" && m.Obj.ID === "if1")).Obj.Metadata!.MTU, 9000);

  await publish(["DELETE", { ID: "ns2", Type: "netns", Name: "red" }]);
  await all.next((m) => m.Type === "NodeDeleted" && m.Obj.ID === "ns2");
  await filtered.next((m) => m.Type === "NodeDeleted" && m.Obj.ID === "ns2");
  assert.ok(!filtered.got.some((m) => m.Obj.ID === "if1"), "the filtered subscriber saw nothing of the interface");

  // A SyncRequest replaces the filter; a bad one answers 400 with the position.
  filtered.ws.send(JSON.stringify({ Namespace: "Graph", Type: "SyncRequest", UUID: "u1", Obj: { GremlinFilter: "G.V().Has('Name', 'eth0')" } }));
  const resync = await filtered.next((m) => m.Type === "SyncReply" && (m as { UUID?: string }).UUID === "u1");
  assert.deepEqual(
    resync.Obj.Nodes!.map((n) => n.ID),
    ["if1"],
  );
  filtered.ws.send(JSON.stringify({ Namespace: "Graph", Type: "SyncRequest", UUID: "u2", Obj: { GremlinFilter: "G.V(" } }));
  const bad = await filtered.next((m) => (m as { UUID?: string }).UUID === "u2");
  assert.equal(bad.Status, 400);
  assert.match(bad.Obj.error!, /expected/);
  filtered.ws.send("not json");
  assert.equal((await filtered.next((m) => m.Type === "Error")).Status, 400);

  const status = (await (await fetch(`${api.address}/api/status`)).json()) as { Graph: { Nodes: number }; Pipeline: { Lag: Record<string, number | null> } };
  assert.equal(status.Graph.Nodes, 3, "ns1, if1 and the deleted ns2's history");
  assert.ok("skystream.topology.v1" in status.Pipeline.Lag);
});

test("/ws/subscriber/flow: enriched flows as they are published, all or one capture's", async (t) => {
  const s = await startTestApi();
  t.after(() => s.close());
  const base = s.api.address.replace("http", "ws");
  const all = await client(`${base}/ws/subscriber/flow`);
  t.after(() => all.ws.close());
  const one = await client(`${base}/ws/subscriber/flow?x-websocket-namespace=flow/cap-1`);
  t.after(() => one.ws.close());
  await new Promise((r) => setTimeout(r, 300)); // the feed starts with the first subscriber
  const { syntheticFlow } = await import("@skystream/schemas/testing/flows");
  const { FLOW_RECORD, TOPICS } = await import("@skystream/schemas");
  const producer = s.bus.producer();
  await producer.connect();
  const now = Date.now();
  const flows = [
    { ...syntheticFlow(1, now), UUID: "f1", CaptureID: "cap-1" },
    { ...syntheticFlow(2, now), UUID: "f2", CaptureID: "cap-2" },
  ];
  await producer.send(
    TOPICS.flowsEnriched,
    flows.map((f) => ({ key: f.UUID, value: s.codec.encode(FLOW_RECORD, f) })),
  );
  const got = (await all.next((m) => m.Type === "store")) as unknown as { Namespace: string; Obj: { UUID: string }[] };
  assert.equal(got.Namespace, "flow");
  assert.deepEqual(
    got.Obj.map((f) => f.UUID),
    ["f1", "f2"],
  );
  const mine = (await one.next((m) => m.Type === "store")) as unknown as { Namespace: string; Obj: { UUID: string; Network: { A: string } }[] };
  assert.equal(mine.Namespace, "flow/cap-1");
  assert.deepEqual(
    mine.Obj.map((f) => f.UUID),
    ["f1"],
  );
  assert.equal(mine.Obj[0]!.Network.A, flows[0]!.Network!.A);
  await producer.disconnect();
});
