// A query API over the in-process bus and a fresh embedded ClickHouse, with a small graph: what the
// schemathesis run and the client test probe. Prints {"address": ...} on its first line, runs until killed.
import { startTestApi } from "@skystream/pipeline/api/testing";

// STAND_HTPASSWD: auth on, with these users (alice is admin).
const htpasswd = process.env.STAND_HTPASSWD;
const t = await startTestApi({
  listen: process.argv[2] ?? "127.0.0.1:0",
  api: { query_timeout: 2000, ...(htpasswd ? { auth: { enabled: "on", htpasswd, roles: { alice: "admin" } } } : {}) },
});
await t.publish(
  ["ADD", { ID: "h", Type: "host", Name: "stand" }],
  ["ADD", { ID: "ns", Type: "netns", Name: "blue" }],
  ["ADD", { ID: "if", Type: "veth", Name: "eth0" }],
);
await new Promise((r) => setTimeout(r, 300));
process.stdout.write(`${JSON.stringify({ address: t.api.address })}\n`);
process.on("SIGTERM", () => void t.close().finally(() => process.exit(0)));
