// socketinfo on a real lab: a TCP server and client in two namespaces, attributed to their processes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import pino from "pino";
import { createRegistry } from "@skystream/common";
import { Graph } from "../../../graph/graph.js";
import { netnsNodeId } from "../../../graph/ids.js";
import { NetnsLab, ip } from "../../../../../test/harness/netns-lab.ts";
import { waitFor } from "../../../../../test/harness/skystream-process.ts";
import { netlink } from "../netlink/index.js";
import { socketinfo } from "./index.js";
import { parseHexAddress, parseProcNet } from "./procnet.js";
import type { Socket } from "./probe.js";

test("kernel hex addresses", () => {
  assert.equal(parseHexAddress("0100007F"), "127.0.0.1");
  assert.equal(parseHexAddress("0128A8C6"), "198.168.40.1");
  assert.equal(parseHexAddress("00000000000000000000000001000000"), "::1");
  assert.equal(parseHexAddress("0000000000000000FFFF00000100007F"), "127.0.0.1");
  assert.equal(parseHexAddress("000000FD000000000000000001000000"), "fd00::1");
  const [s] = parseProcNet(
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0128A8C6:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0\n",
    "TCP",
  );
  assert.deepEqual(s, {
    Protocol: "TCP",
    LocalAddress: "198.168.40.1",
    LocalPort: 8080,
    RemoteAddress: "0.0.0.0",
    RemotePort: 0,
    State: "LISTEN",
    inode: 12345,
  });
});

test("sockets of a server and a client in two namespaces, with their processes", { timeout: 60_000 }, async (t) => {
  const lab = new NetnsLab();
  t.after(() => lab.destroy());
  const [a, b] = [lab.ns("a"), lab.ns("b")];
  const [va, vb] = lab.veth("va", a, "vb", b);
  ip("-n", a, "addr", "add", "198.18.40.1/24", "dev", va);
  ip("-n", b, "addr", "add", "198.18.40.2/24", "dev", vb);

  const server = spawn(
    "ip",
    [
      "netns",
      "exec",
      a,
      "python3",
      "-c",
      "import socket,time\ns=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(('198.18.40.1',8080));s.listen();c,_=s.accept();time.sleep(600)",
    ],
    { stdio: "ignore" },
  );
  t.after(() => server.kill("SIGKILL"));
  await waitFor(
    "server listening",
    async () => /198.18.40.1:8080/.test((await import("node:child_process")).execFileSync("ip", ["netns", "exec", a, "ss", "-ltn"], { encoding: "utf8" })),
    10_000,
    50,
  );
  const client = spawn("ip", ["netns", "exec", b, "python3", "-c", "import socket,time\nc=socket.create_connection(('198.18.40.1',8080));time.sleep(600)"], {
    stdio: "ignore",
  });
  t.after(() => client.kill("SIGKILL"));

  const graph = new Graph("sockhost", "agent.sockhost");
  const deps = { hostId: "sockhost", graph, log: pino({ level: "warn" }), metrics: createRegistry("test") };
  const nl = netlink.create(netlink.config.parse({}), { ...deps, id: "netlink" });
  const si = socketinfo.create(socketinfo.config.parse({ interval: "200ms" }), { ...deps, id: "socketinfo" });
  await nl.start();
  await si.start();
  t.after(async () => {
    await si.stop();
    await nl.stop();
  });
  const sockets = (ns: string) => (graph.nodes.get(netnsNodeId("sockhost", ns))?.Metadata.Sockets as Socket[] | undefined) ?? [];
  await waitFor(
    "the connection on both sides",
    async () => sockets(a).some((s) => s.State === "ESTABLISHED") && sockets(b).some((s) => s.State === "ESTABLISHED"),
    10_000,
    50,
  );

  const listen = sockets(a).find((s) => s.State === "LISTEN" && s.LocalPort === 8080)!;
  assert.ok(listen, "listening socket");
  assert.equal(listen.Protocol, "TCP");
  assert.equal(listen.LocalAddress, "198.18.40.1");
  assert.equal(listen.Name, "python3");
  assert.match(listen.Cmdline, /s\.bind\(\('198\.18\.40\.1',8080\)\)/);
  assert.match(listen.Process, /python3/);
  const accepted = sockets(a).find((s) => s.State === "ESTABLISHED")!;
  assert.equal(accepted.RemoteAddress, "198.18.40.2");
  assert.equal(accepted.Pid, listen.Pid, "the accepted socket belongs to the server process");
  const out = sockets(b).find((s) => s.State === "ESTABLISHED")!;
  assert.deepEqual([out.RemoteAddress, out.RemotePort, out.LocalPort], ["198.18.40.1", 8080, accepted.RemotePort]);
  assert.notEqual(out.Pid, listen.Pid);

  // Server stopped: its sockets leave the graph within a second. Netlink re-syncs keep the decoration.
  ip("-n", a, "link", "set", va, "mtu", "1300");
  await waitFor("mtu", async () => [...graph.nodes.values()].some((n) => n.Name === va && n.Metadata.MTU === 1300), 2000, 10);
  assert.ok(sockets(a).length > 0, "a netlink update keeps the sockets");
  const t0 = performance.now();
  server.kill("SIGKILL");
  await waitFor("server sockets gone", async () => !sockets(a).some((s) => s.LocalPort === 8080 && s.State === "LISTEN"), 3000, 20);
  const ms = performance.now() - t0;
  t.diagnostic(`server stop seen in ${ms.toFixed(0)} ms`);
  assert.ok(ms < 1000);
});
