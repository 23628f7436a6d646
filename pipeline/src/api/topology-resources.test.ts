// /api/node, /api/edge, /api/noderule, /api/edgerule: what users add reaches the graph as origin
// api.<host> through the topology topic, rules follow the graph as it changes, deletes and TTLs remove
// what they made, bad input gets a 400 and duplicates a 409.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestApi } from "./testing.js";
import { ruleNodeId } from "./topology-manager.js";

test("topology resources: nodes, edges, node rules (create, update) and edge rules through the graph; 400, 409, 404, TTL", async (t) => {
  const s = await startTestApi();
  t.after(() => s.close());
  await s.publish(["ADD", { ID: "if1", Type: "veth" }], ["ADD", { ID: "if2", Type: "veth" }]);
  const call = async (method: string, url: string, body?: unknown, headers: Record<string, string> = {}) => {
    const r = await s.api.app.inject({ method: method as "GET", url, payload: body as object, headers });
    return { status: r.statusCode, json: () => r.json() as Record<string, unknown> & Record<string, never>, body: r.body };
  };
  const gremlin = async (q: string) => {
    const r = await call("POST", "/api/topology", { GremlinQuery: q });
    assert.equal(r.status, 200, r.body);
    return JSON.parse(r.body) as unknown[];
  };
  const until = async (what: string, ok: () => Promise<boolean>, ms = 10_000) => {
    const end = Date.now() + ms;
    while (!(await ok())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const names = async (q: string) => ((await gremlin(q)) as string[]).sort();
  await until("the agent's nodes", async () => (await gremlin("G.V().Count()"))[0] === 2);

  // A node: into the graph with the API's origin.
  const created = await call("POST", "/api/node", { ID: "tor1", Metadata: { Name: "tor1", Type: "switch", Vendor: "acme" } });
  assert.equal(created.status, 201, created.body);
  assert.match(String(created.json().Origin), /^api\./);
  await until("the node in the graph", async () => (await gremlin("G.V('tor1').Values('Vendor')"))[0] === "acme");
  assert.match(String(((await gremlin("G.V('tor1')")) as { Origin: string }[])[0]!.Origin), /^api\./);
  assert.deepEqual(Object.keys((await call("GET", "/api/node")).json()), ["tor1"]);
  assert.equal((await call("GET", "/api/node/tor1")).json().ID, "tor1");
  assert.equal((await call("POST", "/api/node", { ID: "tor1", Metadata: { Name: "x", Type: "switch" } })).status, 409, "same ID");
  assert.equal((await call("POST", "/api/node", { ID: "if1", Metadata: { Name: "x", Type: "switch" } })).status, 409, "an agent's node's ID");
  assert.equal((await call("POST", "/api/node", { Metadata: { Name: "x" } })).status, 400, "no Type");
  assert.equal((await call("POST", "/api/node", { Metadata: { Name: "x", Type: "t" }, Extra: 1 })).status, 400, "unknown field");
  assert.equal((await call("DELETE", "/api/node/if1")).status, 404, "an agent's node is its agent's");

  // PATCH: an RFC 6902 JSON Patch on the node's metadata; its identity stays.
  const patch = (url: string, ops: unknown, type = "application/json-patch+json") =>
    s.api.app.inject({ method: "PATCH", url, payload: JSON.stringify(ops), headers: { "content-type": type } });
  const patched = await patch("/api/node/tor1", [
    { op: "replace", path: "/Metadata/Vendor", value: "other" },
    { op: "add", path: "/Metadata/Ports", value: 48 },
  ]);
  assert.equal(patched.statusCode, 200, patched.body);
  assert.equal((patched.json() as { Metadata: { Ports: number } }).Metadata.Ports, 48);
  await until("the patched node", async () => (await gremlin("G.V('tor1').Values('Vendor')"))[0] === "other");
  assert.equal((await patch("/api/node/tor1", [{ op: "replace", path: "/Metadata/Ports", value: 48 }], "application/json")).statusCode, 304);
  const rename = await patch("/api/node/tor1", [{ op: "replace", path: "/Metadata/Name", value: "x" }]);
  assert.equal(rename.statusCode, 400);
  assert.match(rename.body, /may not change Metadata.Name/);
  assert.equal((await patch("/api/node/tor1", [{ op: "remove", path: "/Metadata/Nope" }])).statusCode, 400, "a path that is not there");
  assert.equal((await patch("/api/node/tor1", [{ op: "jump", path: "/x" }])).statusCode, 400, "not an operation");
  assert.equal((await patch("/api/node/nope", [])).statusCode, 404);

  // An edge to an agent's node; its ends must exist.
  const edge = await call("POST", "/api/edge", { Parent: "tor1", Child: "if1", Metadata: { RelationType: "layer2", Cable: "c7" } });
  assert.equal(edge.status, 201, edge.body);
  await until("the edge", async () => (await names("G.V('tor1').Both().Values('Name')")).join() === "if1");
  assert.deepEqual(await gremlin("G.V('tor1').BothE().Values('Cable')"), ["c7"]);
  const noEnd = await call("POST", "/api/edge", { Parent: "tor1", Child: "nope", Metadata: { RelationType: "layer2" } });
  assert.equal(noEnd.status, 400);
  assert.match(String(noEnd.json().error), /Child: no node nope/);
  assert.equal((await call("POST", "/api/edge", { Parent: "tor1", Child: "if1", Metadata: {} })).status, 400, "no RelationType");

  // A node rule that creates; an edge rule from it to every veth, new ones included.
  const internet = await call("POST", "/api/noderule", { Name: "internet", Metadata: { Name: "internet", Type: "cloud" } });
  assert.equal(internet.status, 201, internet.body);
  const internetId = ruleNodeId(String(internet.json().UUID));
  await until("the rule's node", async () => (await gremlin(`G.V('${internetId}').Values('Type')`))[0] === "cloud");
  const link = await call("POST", "/api/edgerule", {
    Name: "uplinks",
    Src: "G.V().Has('Type', 'cloud')",
    Dst: "G.V().Has('Type', 'veth')",
    Metadata: { RelationType: "layer3" },
  });
  assert.equal(link.status, 201, link.body);
  await until("the rule's edges", async () => (await names(`G.V('${internetId}').Out().Values('Name')`)).join() === "if1,if2");
  await s.publish(["ADD", { ID: "if3", Type: "veth" }]);
  await until("an edge to the new veth", async () => (await names(`G.V('${internetId}').Out().Values('Name')`)).join() === "if1,if2,if3");
  const badQuery = await call("POST", "/api/edgerule", { Src: "G.V().Has(", Dst: "G.V()", Metadata: { RelationType: "x" } });
  assert.equal(badQuery.status, 400);
  assert.equal(typeof badQuery.json().position, "number", "where the query went wrong");

  // A node rule that updates: its Metadata on the API's nodes its Query matches, and off again when deleted.
  const rack = await call("POST", "/api/noderule", { Action: "update", Query: "G.V().Has('Type', 'switch')", Metadata: { Rack: "r12" } });
  assert.equal(rack.status, 201, rack.body);
  await until("the rule's metadata", async () => (await gremlin("G.V('tor1').Values('Rack')"))[0] === "r12");
  assert.equal((await call("POST", "/api/noderule", { Action: "update", Query: "G.V()", Metadata: { Name: "x" } })).status, 400, "Name is not a rule's");
  assert.equal((await call("POST", "/api/noderule", { Action: "update", Metadata: { A: 1 } })).status, 400, "no Query");
  assert.equal((await call("POST", "/api/noderule", { Metadata: { Name: "x" } })).status, 400, "create without Type");
  assert.equal((await call("DELETE", `/api/noderule/${String(rack.json().UUID)}`)).status, 200);
  await until("the rule's metadata gone", async () => (await gremlin("G.V('tor1').Values('Rack')")).length === 0);

  // Deletes take what they made with them.
  assert.equal((await call("DELETE", "/api/node/tor1")).status, 200);
  await until(
    "the node and its edge gone",
    async () => (await gremlin("G.V('tor1')")).length === 0 && (await gremlin("G.E().Has('Cable', 'c7')")).length === 0,
  );
  assert.equal((await call("DELETE", `/api/noderule/${String(internet.json().UUID)}`)).status, 200);
  await until(
    "the rule's node gone, and its edges",
    async () => (await gremlin(`G.V('${internetId}')`)).length === 0 && (await gremlin("G.E().Has('RelationType', 'layer3')")).length === 0,
  );
  assert.equal((await call("DELETE", "/api/node/tor1")).status, 404);

  // X-Resource-TTL: gone by itself.
  assert.equal((await call("POST", "/api/node", { ID: "tmp", Metadata: { Name: "tmp", Type: "t" } }, { "x-resource-ttl": "1s" })).status, 201);
  await until("the temporary node", async () => (await gremlin("G.V('tmp')")).length === 1);
  await until("its TTL", async () => (await gremlin("G.V('tmp')")).length === 0, 5000);
  assert.equal((await call("GET", "/api/node/tmp")).status, 404);
  assert.equal((await call("POST", "/api/node", { Metadata: { Name: "x", Type: "t" } }, { "x-resource-ttl": "soon" })).status, 400);
});
