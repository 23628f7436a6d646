// skystream client against a running query API (the API stand: in-process bus, embedded ClickHouse, a
// small graph): Gremlin, captures, flow matrix, status; tables, JSON, and the server's errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import bcrypt from "bcryptjs";
import { fileURLToPath } from "node:url";
import { freePort } from "../harness/kafka.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = `${ROOT}pipeline/bin/skystream.js`;

/** Starts the API stand; its address. */
async function stand(t: { after(fn: () => void): void }, env: Record<string, string> = {}): Promise<string> {
  const port = await freePort();
  const child = spawn(process.execPath, ["--import", "tsx", `${ROOT}test/harness/api-stand.ts`, `127.0.0.1:${port}`], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  t.after(() => child.kill("SIGKILL"));
  return new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /"address":"([^"]+)"/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once("exit", (code) => reject(new Error(`the API stand exited (${code})`)));
  });
}

test("skystream client with auth: refused without a token, login, then the token from SKYSTREAM_API_TOKEN", { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "skystream-client-auth-"));
  writeFileSync(join(dir, "htpasswd"), `alice:${bcrypt.hashSync("secret", 10)}\n`);
  const api = await stand(t, { STAND_HTPASSWD: join(dir, "htpasswd") });
  const client = (env: Record<string, string>, ...args: string[]) => {
    const r = spawnSync(process.execPath, [BIN, "client", "--api", api, ...args], { encoding: "utf8", timeout: 60_000, env: { ...process.env, ...env } });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  const refused = client({}, "status");
  assert.equal(refused.code, 1);
  assert.match(refused.err, /401 Unauthorized: authentication required/);
  assert.match(client({}, "login", "-u", "alice", "-p", "wrong").err, /401 Unauthorized: wrong user or password/);
  const login = client({ SKYSTREAM_API_PASSWORD: "secret" }, "login", "-u", "alice");
  assert.equal(login.code, 0, login.err);
  const token = login.out.trim();
  const q = client({ SKYSTREAM_API_TOKEN: token }, "-o", "json", "topology", "query", "--gremlin", "G.V().Count()");
  assert.equal(q.code, 0, q.err);
  assert.deepEqual(JSON.parse(q.out), [3]);
});

test("skystream client: topology query, capture create/list/delete, flowmatrix, status, nodes, edges and rules, errors", { timeout: 180_000 }, async (t) => {
  const api = await stand(t);
  const client = (...args: string[]) => {
    const r = spawnSync(process.execPath, [BIN, "client", "--api", api, ...args], { encoding: "utf8", timeout: 60_000 });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };

  const q = client("topology", "query", "--gremlin", "G.V().Has('Type', 'netns')");
  assert.equal(q.code, 0, q.err);
  assert.match(q.out, /^ID\s+TYPE\s+NAME\s+HOST\s+STATE\n/);
  assert.match(q.out, /\nns\s+netns\s+blue\s+h1\s+UP\n/);
  const json = client("-o", "json", "topology", "query", "--gremlin", "G.V().Count()");
  assert.deepEqual(JSON.parse(json.out), [3]);
  assert.match(client("topology", "query", "--gremlin", "G.V()", "--format", "dot").out, /^digraph skystream/);
  const bad = client("topology", "query", "--gremlin", "G.V().Has('Name' 'x')");
  assert.equal(bad.code, 1);
  assert.match(bad.err, /400 Bad Request: expected ',' or '\)' at 17/);

  const created = client("-o", "json", "capture", "create", "-p", "G.V().Has('Type', 'veth')", "--bpf", "udp", "--name", "cli", "--ttl", "10m");
  assert.equal(created.code, 0, created.err);
  const c = JSON.parse(created.out) as { UUID: string; TTL: number; Count: number };
  assert.equal(c.TTL, 600_000);
  assert.equal(c.Count, 1, "the stand's one veth");
  assert.match(client("capture", "list").out, new RegExp(`${c.UUID}\\s+cli\\s+G\\.V\\(\\)\\.Has\\('Type', 'veth'\\)\\s+udp`));
  assert.match(client("capture", "create", "-p", "G.V().Has('Type', 'veth')", "--bpf", "udp").err, /409 Conflict: capture .* already captures/);
  assert.equal(client("capture", "delete", c.UUID).out, `capture ${c.UUID} deleted\n`);
  assert.match(client("capture", "delete", c.UUID).err, /404 Not Found: no capture/);

  const csv = client("flowmatrix", "--format", "csv");
  assert.equal(csv.code, 0, csv.err);
  assert.equal(csv.out, "protocol,server,server_ip,port,server_proc,server_procname,client,client_ip,client_proc,client_procname\n");
  assert.deepEqual(JSON.parse(client("-o", "json", "flowmatrix").out), []);

  const status = client("status");
  assert.equal(status.code, 0, status.err);
  assert.match(status.out, /^HOST\s+ORIGIN\s+ALIVE\s+LASTSEEN\n/);
  assert.match(status.out, /graph: 3 nodes, 0 edges/);

  // Nodes, edges and rules: created, listed, seen by Gremlin, deleted.
  const node = client("-o", "json", "node", "create", "--name", "tor1", "--type", "switch", "--id", "tor1", "-m", "Vendor=acme,Ports=48");
  assert.equal(node.code, 0, node.err);
  assert.deepEqual((JSON.parse(node.out) as { Metadata: unknown }).Metadata, { Vendor: "acme", Ports: 48, Name: "tor1", Type: "switch" });
  assert.match(client("node", "list").out, /^ID\s+TYPE\s+NAME\s+ORIGIN\ntor1\s+switch\s+tor1\s+api\./);
  assert.match(client("node", "create", "--name", "x", "--type", "switch", "--id", "tor1").err, /409 Conflict: node tor1 already exists/);
  assert.match(client("node", "create", "--name", "x", "--type", "t", "-m", "novalue").err, /--metadata: expected key=value/);
  const seen = async (q: string, want: string) => {
    for (let i = 0; i < 50 && client("-o", "json", "topology", "query", "--gremlin", q).out.trim() !== want; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(client("-o", "json", "topology", "query", "--gremlin", q).out.trim(), want, q);
  };
  await seen("G.V('tor1').Values('Ports')", "[\n  48\n]");
  const edge = client("-o", "json", "edge", "create", "--parent", "tor1", "--child", "if", "--relation-type", "layer2");
  assert.equal(edge.code, 0, edge.err);
  await seen("G.V('tor1').Both().Values('Name')", '[\n  "eth0"\n]');
  const rule = client("-o", "json", "noderule", "create", "--action", "update", "--query", "G.V().Has('Type', 'switch')", "-m", "Rack=r12");
  assert.equal(rule.code, 0, rule.err);
  await seen("G.V('tor1').Values('Rack')", '[\n  "r12"\n]');
  const link = client("-o", "json", "edgerule", "create", "--src", "G.V('tor1')", "--dst", "G.V().Has('Type', 'netns')", "--relation-type", "layer3");
  assert.equal(link.code, 0, link.err);
  await seen("G.V('tor1').Out().Has('Type', 'netns').Values('Name')", '[\n  "blue"\n]');
  assert.match(client("noderule", "list").out, /update\s+G\.V\(\)\.Has\('Type', 'switch'\)/);
  const ruleId = (JSON.parse(rule.out) as { UUID: string }).UUID;
  assert.equal(client("noderule", "delete", ruleId).out, `noderule ${ruleId} deleted\n`);
  assert.equal(client("node", "delete", "tor1").out, "node tor1 deleted\n");
  await seen("G.V('tor1').Count()", "[\n  0\n]");

  const down = spawnSync(process.execPath, [BIN, "client", "--api", "http://127.0.0.1:1", "status"], { encoding: "utf8" });
  assert.equal(down.status, 1);
  assert.match(down.stderr, /cannot reach the API at http:\/\/127\.0\.0\.1:1\/api\/status/);
});
