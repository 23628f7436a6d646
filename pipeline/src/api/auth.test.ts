// The API's auth: htpasswd users, signed expiring tokens from /login, casbin roles (admin writes, guest
// only reads), every route closed without a token, and TLS with client certificates.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import bcrypt from "bcryptjs";
import pino from "pino";
import { createRegistry } from "@skystream/common";
import { MemoryGraph } from "../gremlin/graph.js";
import { apiConfig } from "./config.js";
import { buildApi, listen } from "./server.js";
import { makeCerts } from "../../../test/harness/certs.ts";

const dir = mkdtempSync(join(tmpdir(), "skystream-auth-"));
const htpasswd = join(dir, "htpasswd");
writeFileSync(htpasswd, `# users\nalice:${bcrypt.hashSync("wonderland", 10)}\nbob:${bcrypt.hashSync("builder", 10).replace("$2b$", "$2y$")}\n`);
const graph = new MemoryGraph();
const source = { live: () => graph, at: async () => graph, during: async () => graph };
const build = (auth: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  buildApi(apiConfig.parse({ listen: "0.0.0.0:0", auth: { htpasswd, roles: { alice: "admin" }, ...auth }, ...extra }), {
    source,
    metrics: createRegistry("auth-test"),
    log: pino({ level: "silent" }),
  });

test("auth: every route needs a token, /login gives one that expires, guests read and never write", async (t) => {
  const app = await build({ enabled: "on" });
  t.after(() => app.close());
  await app.ready();
  const doc = (await app.inject({ method: "GET", url: "/api/openapi.json" })).json() as { paths: Record<string, Record<string, unknown>> };
  let closed = 0;
  for (const [path, methods] of Object.entries(doc.paths))
    for (const method of Object.keys(methods)) {
      if (path === "/login") continue;
      const r = await app.inject({ method: method.toUpperCase() as "GET", url: path.replace(/\{[^}]+\}/g, "x"), payload: method === "get" ? undefined : {} });
      assert.equal(r.statusCode, 401, `${method} ${path}: ${r.body}`);
      closed++;
    }
  assert.ok(closed >= 3);
  assert.equal((await app.inject({ method: "GET", url: "/api/nope" })).statusCode, 401, "unknown routes too");

  assert.equal((await app.inject({ method: "POST", url: "/login", payload: { username: "alice", password: "nope" } })).statusCode, 401);
  assert.equal((await app.inject({ method: "POST", url: "/login", payload: { username: "mallory", password: "x" } })).statusCode, 401);
  const login = async (username: string, password: string) => {
    const r = await app.inject({
      method: "POST",
      url: "/login",
      payload: `username=${username}&password=${password}`,
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    assert.equal(r.statusCode, 200, r.body);
    return r;
  };
  const admin = await login("alice", "wonderland");
  const adminToken = admin.json().Token as string;
  assert.match(String(admin.headers["set-cookie"]), /authtoken=.*HttpOnly.*SameSite=Strict/i);
  assert.ok(admin.json().Permissions.every((p: { Allowed: boolean }) => p.Allowed));
  const guest = await login("bob", "builder");
  const guestToken = guest.json().Token as string;
  assert.deepEqual(
    guest
      .json()
      .Permissions.filter((p: { Allowed: boolean }) => p.Allowed)
      .map((p: { Action: string }) => p.Action),
    Array(6).fill("read"),
  );
  assert.doesNotMatch(Buffer.from(adminToken.split(".")[1]!, "base64url").toString(), /wonderland/, "no password in the token");

  const as = (token: string, method: string, url: string, payload?: unknown) =>
    app.inject({ method: method as "GET", url, payload: payload as object, headers: { authorization: `Bearer ${token}` } });
  assert.equal((await as(guestToken, "GET", "/api/topology")).statusCode, 200);
  assert.equal((await as(guestToken, "POST", "/api/topology", { GremlinQuery: "G.V().Count()" })).statusCode, 200, "a query is a read");
  assert.equal((await as(adminToken, "GET", "/api/topology")).statusCode, 200);
  // Other ways to send the token: X-Auth-Token, the cookie.
  assert.equal((await app.inject({ method: "GET", url: "/api/topology", headers: { "x-auth-token": guestToken } })).statusCode, 200);
  assert.equal((await app.inject({ method: "GET", url: "/api/topology", cookies: { authtoken: guestToken } })).statusCode, 200);
  assert.equal((await as(`${guestToken}x`, "GET", "/api/topology")).statusCode, 401, "a tampered token");
});

test("auth: a guest's writes are refused with 403; an expired token is refused", async (t) => {
  const app = await build({ enabled: "on", token_ttl: "1s", policy: ["p, guest, capture, write, deny"] });
  t.after(() => app.close());
  await app.ready();
  // A route that writes: registered here as the API's routes are, under the same hook.
  const { permissionOf } = await import("./server.js");
  assert.deepEqual(permissionOf("POST", "/api/capture"), { object: "capture", action: "write" });
  assert.deepEqual(permissionOf("DELETE", "/api/alert/:id"), { object: "alert", action: "write" });
  assert.deepEqual(permissionOf("POST", "/api/topology"), { object: "topology", action: "read" });
  assert.deepEqual(permissionOf("GET", "/ws/subscriber"), { object: "websocket", action: "read" });
  const token = (await app.inject({ method: "POST", url: "/login", payload: { username: "bob", password: "builder" } })).json().Token as string;
  const r = await app.inject({ method: "DELETE", url: "/api/topology", headers: { authorization: `Bearer ${token}` } });
  assert.equal(r.statusCode, 403, r.body);
  assert.match(r.json().error, /'bob' \(guest\) has no 'write' permission on 'topology'/);
  await new Promise((res) => setTimeout(res, 2100));
  const late = await app.inject({ method: "GET", url: "/api/topology", headers: { authorization: `Bearer ${token}` } });
  assert.equal(late.statusCode, 401);
  assert.match(late.json().error, /expired/);
});

test("auth: off on loopback without users; refused to start on an open address without users", async () => {
  const open = await buildApi(apiConfig.parse({ listen: "127.0.0.1:0" }), { source, metrics: createRegistry("auth-open"), log: pino({ level: "silent" }) });
  assert.equal((await open.inject({ method: "GET", url: "/api/topology" })).statusCode, 200);
  await open.close();
  await assert.rejects(
    buildApi(apiConfig.parse({ listen: "0.0.0.0:8082" }), { source, metrics: createRegistry("auth-refused"), log: pino({ level: "silent" }) }),
    /api.auth is on .* names no users/,
  );
});

test("TLS: HTTPS with a certificate, and mutual TLS refusing clients without one", async (t) => {
  const certs = makeCerts();
  const app = await buildApi(apiConfig.parse({ listen: "127.0.0.1:0", tls: { cert: certs.server.cert, key: certs.server.key, client_ca: certs.ca } }), {
    source,
    metrics: createRegistry("tls"),
    log: pino({ level: "silent" }),
  });
  t.after(() => app.close());
  const address = await listen(app, "127.0.0.1:0");
  assert.match(address, /^https:/);
  const get = (withCert: boolean) =>
    new Promise<number>((resolve, reject) => {
      const req = request(
        `${address}/api`,
        { ca: readFileSync(certs.ca), ...(withCert ? { cert: readFileSync(certs.client.cert), key: readFileSync(certs.client.key) } : {}) },
        (res) => {
          res.resume();
          resolve(res.statusCode!);
        },
      );
      req.on("error", reject);
      req.end();
    });
  assert.equal(await get(true), 200);
  await assert.rejects(get(false), /certificate|socket hang up|ECONNRESET|alert/i);
});

test("auth: CORS for the listed origins only; a preflight needs no token, the request after it does", async (t) => {
  const app = await build({ enabled: "on" }, { cors_origins: ["http://grafana.example:3000"] });
  t.after(() => app.close());
  await app.ready();
  const preflight = (origin: string) =>
    app.inject({
      method: "OPTIONS",
      url: "/api/topology",
      headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type" },
    });
  const ok = await preflight("http://grafana.example:3000");
  assert.equal(ok.statusCode, 204, ok.body);
  assert.equal(ok.headers["access-control-allow-origin"], "http://grafana.example:3000");
  assert.match(String(ok.headers["access-control-allow-headers"]), /authorization/);
  const other = await preflight("http://elsewhere.example");
  assert.equal(other.headers["access-control-allow-origin"], undefined, "an origin not listed gets no CORS answer");

  const anonymous = await app.inject({ method: "GET", url: "/api/topology", headers: { origin: "http://grafana.example:3000" } });
  assert.equal(anonymous.statusCode, 401);
  const token = (await app.inject({ method: "POST", url: "/login", payload: { username: "alice", password: "wonderland" } })).json().Token as string;
  const r = await app.inject({ method: "GET", url: "/api/topology", headers: { origin: "http://grafana.example:3000", authorization: `Bearer ${token}` } });
  assert.equal(r.statusCode, 200);
  assert.equal(r.headers["access-control-allow-origin"], "http://grafana.example:3000");

  const closed = await build({ enabled: "on" });
  t.after(() => closed.close());
  const none = await closed.inject({
    method: "OPTIONS",
    url: "/api/topology",
    headers: { origin: "http://grafana.example:3000", "access-control-request-method": "POST" },
  });
  assert.equal(none.headers["access-control-allow-origin"], undefined, "no CORS unless configured");
});
