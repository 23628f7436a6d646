// Alerts on the query API: a Gremlin expression fires on topology changes when its result is new, a
// webhook and WebSocket subscribers get the firing, firings are stored; periodic triggers; bad input.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { once } from "node:events";
import { WebSocket } from "ws";
import { startTestApi } from "./testing.js";

test("/api/alert: fires on change (webhook, WebSocket, stored), re-arms on an empty result, periodic triggers, bad input", async (t) => {
  const hooks: { UUID: string; ReasonData: { ID: string }[] }[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      hooks.push(JSON.parse(body) as (typeof hooks)[number]);
      res.end("ok");
    });
  }).listen(0, "127.0.0.1");
  await once(server, "listening");
  t.after(() => server.close());
  const hook = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;

  const s = await startTestApi();
  t.after(() => s.close());
  await s.publish(["ADD", { ID: "if1" }], ["ADD", { ID: "if2" }]);
  const call = (method: string, url: string, body?: unknown) => s.api.app.inject({ method: method as "GET", url, payload: body as object });
  const until = async (what: string, ok: () => boolean | Promise<boolean>, ms = 10_000) => {
    const end = Date.now() + ms;
    while (!(await ok())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const ws = new WebSocket(`${s.api.address.replace("http", "ws")}/ws/subscriber`);
  const wsAlerts: unknown[] = [];
  ws.on("message", (d) => {
    const m = JSON.parse(String(d)) as { Namespace: string; Obj: unknown };
    if (m.Namespace === "Alert") wsAlerts.push(m.Obj);
  });
  await once(ws, "open");
  t.after(() => ws.close());

  const created = await call("POST", "/api/alert", { Name: "link down", Expression: "G.V().Has('State', 'DOWN').Values('Name')", Action: hook });
  assert.equal(created.statusCode, 201, created.body);
  const alert = created.json() as { UUID: string; Trigger: string };
  assert.equal(alert.Trigger, "graph");

  await s.publish(["UPDATE", { ID: "if1", Metadata: { State: "DOWN" } }]);
  await until("the webhook", () => hooks.length === 1);
  assert.equal(hooks[0]!.UUID, alert.UUID);
  assert.deepEqual(hooks[0]!.ReasonData, ["if1"]);
  await until("the WebSocket Alert", () => wsAlerts.length === 1);

  // Another change that leaves the result as it was: no new firing.
  await s.publish(["UPDATE", { ID: "if2", Metadata: { MTU: 9000 } }]);
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(hooks.length, 1, "same result, no new firing");
  // Up again (re-armed), then down again: fires again.
  await s.publish(["UPDATE", { ID: "if1", Metadata: { State: "UP" } }]);
  await new Promise((r) => setTimeout(r, 500));
  await s.publish(["UPDATE", { ID: "if1", Metadata: { State: "DOWN" } }]);
  await until("the second firing", () => hooks.length === 2);

  // Stored after the webhook answered (with its status).
  await until("both firings stored", async () => (await call("GET", `/api/alert/${alert.UUID}/firings`)).json().length === 2);
  const firings = await call("GET", `/api/alert/${alert.UUID}/firings`);
  assert.equal(firings.statusCode, 200);
  assert.deepEqual(
    firings.json().map((f: { ReasonData: unknown; ActionStatus: number }) => [f.ReasonData, f.ActionStatus]),
    [
      [["if1"], 200],
      [["if1"], 200],
    ],
  );

  const periodic = await call("POST", "/api/alert", { Expression: "G.V().Count()", Trigger: "duration:1s" });
  assert.equal(periodic.statusCode, 201);
  const pid = periodic.json().UUID as string;
  await until("the periodic alert's first firing", async () => (await call("GET", `/api/alert/${pid}/firings`)).json().length === 1);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal((await call("GET", `/api/alert/${pid}/firings`)).json().length, 1, "the count did not change: one firing");

  assert.equal(Object.keys((await call("GET", "/api/alert")).json()).length, 2);
  const badQuery = await call("POST", "/api/alert", { Expression: "G.V(" });
  assert.equal(badQuery.statusCode, 400);
  assert.equal(badQuery.json().position, 4);
  assert.match((await call("POST", "/api/alert", { Expression: "G.V()", Trigger: "duration:10ms" })).json().error, /Trigger/);
  assert.match((await call("POST", "/api/alert", { Expression: "G.V()", Action: "file:///bin/sh" })).json().error, /Action/);
  // PATCH (RFC 6902): a new expression, evaluated afresh; its identity and a valid definition are kept.
  const patch = (ops: unknown) =>
    s.api.app.inject({ method: "PATCH", url: `/api/alert/${pid}`, payload: JSON.stringify(ops), headers: { "content-type": "application/json-patch+json" } });
  const renamed = await patch([
    { op: "replace", path: "/Expression", value: "G.V().Has('State', 'DOWN').Count()" },
    { op: "replace", path: "/Name", value: "downs" },
  ]);
  assert.equal(renamed.statusCode, 200, renamed.body);
  assert.equal(renamed.json().Name, "downs");
  assert.equal((await call("GET", `/api/alert/${pid}`)).json().Expression, "G.V().Has('State', 'DOWN').Count()");
  await until("a firing of the new expression", async () =>
    (await call("GET", `/api/alert/${pid}/firings`)).json().some((f: { ReasonData: unknown }) => JSON.stringify(f.ReasonData) === "[1]"),
  );
  assert.equal((await patch([{ op: "replace", path: "/Name", value: "downs" }])).statusCode, 304);
  assert.equal((await patch([{ op: "replace", path: "/Expression", value: "G.V(" }])).json().position, 4, "the new expression is checked");
  assert.match((await patch([{ op: "replace", path: "/UUID", value: "x" }])).json().error, /may not change UUID/);
  assert.match((await patch([{ op: "add", path: "/Color", value: "red" }])).json().error, /has no Color/);
  assert.equal((await patch([{ op: "replace", path: "/Trigger", value: "sometimes" }])).statusCode, 400);

  assert.equal((await call("DELETE", `/api/alert/${pid}`)).statusCode, 200);
  assert.equal((await call("GET", `/api/alert/${pid}`)).statusCode, 404);

  // X-Resource-TTL: deleted by itself.
  const brief = await s.api.app.inject({ method: "POST", url: "/api/alert", payload: { Expression: "G.V()" }, headers: { "x-resource-ttl": "1s" } });
  assert.equal(brief.statusCode, 201);
  await until("the alert's TTL", async () => (await call("GET", `/api/alert/${brief.json().UUID as string}`)).statusCode === 404, 5000);
  assert.equal(
    (await s.api.app.inject({ method: "POST", url: "/api/alert", payload: { Expression: "G.V()" }, headers: { "x-resource-ttl": "later" } })).statusCode,
    400,
  );
  assert.equal((await call("DELETE", `/api/alert/${pid}`)).statusCode, 404);
});
