// The README's first command: the all-in-one (agent + pipeline + API, in-process bus, embedded ClickHouse).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { openChdb, queryRows } from "../harness/clickhouse.ts";
import { NetnsLab, ip } from "../harness/netns-lab.ts";
import { startSkystream, waitFor } from "../harness/skystream-process.ts";
import { freePort } from "../harness/kafka.ts";

/** POST /api/topology with a Gremlin query; the JSON answer. */
async function gremlin(api: string, GremlinQuery: string): Promise<unknown[]> {
  const r = await fetch(`${api}/api/topology`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ GremlinQuery }) });
  if (!r.ok) throw new Error(`${r.status} ${await r.text()}`);
  return (await r.json()) as unknown[];
}

test("all-in-one stores synthetic flows in its embedded ClickHouse, answers the API, and keeps both across restarts", { timeout: 120_000 }, async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), "skystream-aio-"));
  const port = await freePort();
  const api = `http://127.0.0.1:${port}`;
  const env = { SKYSTREAM_CLICKHOUSE_DATA_PATH: dataDir, SKYSTREAM_AGENT_HOST_ID: "aio-host", SKYSTREAM_API_LISTEN: `127.0.0.1:${port}` };
  const counts: number[] = [];
  let firstRun = 0;
  for (let run = 0; run < 2; run++) {
    const aio = await startSkystream(["allinone", "--synthetic", "5000"], env);
    t.after(() => aio.kill("SIGKILL"));
    await aio.waitForOutput(/all-in-one running/);
    // The host's topology through the query API (the agent's host node, named by its host id).
    await waitFor(
      "the host node in the API",
      async () => (await gremlin(api, "G.V().Has('Type', 'host').Values('Name')")).includes("aio-host") || undefined,
      30_000,
    );
    const status = (await (await fetch(`${api}/api/status`)).json()) as { Agents: { Host: string; Alive: boolean }[]; Graph: { Nodes: number } };
    assert.ok(
      status.Agents.some((a) => a.Host === "aio-host" && a.Alive),
      JSON.stringify(status.Agents),
    );
    assert.ok(status.Graph.Nodes > 0);
    if (run === 0) firstRun = Date.now();
    else {
      const [count] = await gremlin(api, `G.At(${firstRun}).V().Has('Type', 'host').Count()`);
      assert.equal(count, 1, "the first run's graph, after a restart");
      assert.deepEqual(await gremlin(api, `G.At(${firstRun - 3_600_000}).V().Count()`), [0], "nothing before the first run");
    }
    await waitFor("rows inserted", async () => (await aio.metric("skystream_sink_rows_inserted_total")) >= 5000, 60_000);
    assert.equal(await aio.kill("SIGTERM"), 0, aio.output().slice(-2000));
    const ch = openChdb(dataDir);
    const [row] = await queryRows<{ c: string }>(ch, "SELECT count() AS c FROM skystream.flows WHERE Host = 'aio-host'");
    await ch.close();
    counts.push(Number(row!.c));
  }
  assert.ok(counts[0]! >= 5000, `first run stored ${counts[0]}`);
  assert.ok(counts[1]! >= counts[0]! + 5000, `second run kept the first run's rows: ${counts.join(" -> ")}`);
});

test("all-in-one watches its host: flows of a live capture on the default route's interface land in ClickHouse", { timeout: 120_000 }, async (t) => {
  // The "host" is a namespace whose default route leaves through a veth.
  const lab = new NetnsLab();
  t.after(() => lab.destroy());
  const [host, peer] = [lab.ns("host"), lab.ns("peer")];
  const [eth, far] = lab.veth("eth", host, "far", peer);
  ip("-n", host, "addr", "add", "198.18.70.1/24", "dev", eth);
  ip("-n", peer, "addr", "add", "198.18.70.2/24", "dev", far);
  ip("-n", host, "route", "add", "default", "via", "198.18.70.2");
  const dataDir = mkdtempSync(join(tmpdir(), "skystream-aio-cap-"));
  const env = {
    SKYSTREAM_CLICKHOUSE_DATA_PATH: dataDir,
    SKYSTREAM_AGENT_HOST_ID: "aio-cap",
    SKYSTREAM_AGENT_FLOW_TABLE_UPDATE: "1s",
    SKYSTREAM_API_LISTEN: `127.0.0.1:${await freePort()}`,
  };
  const aio = await startSkystream(["allinone"], env, { netns: host });
  t.after(() => aio.kill("SIGKILL"));
  await aio.waitForOutput(/all-in-one running/);
  assert.match(aio.output(), new RegExp(`pcap/${eth}`), "the capture on the default route's interface");
  // 20 UDP datagrams of 300 bytes to the gateway, 50 ms apart.
  const sender = spawn(
    "ip",
    [
      "netns",
      "exec",
      host,
      "python3",
      "-c",
      "import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nfor i in range(20):\n  s.sendto(b'x'*300,('198.18.70.2',9911)); time.sleep(0.05)",
    ],
    { stdio: "ignore" },
  );
  await new Promise((r) => sender.once("exit", r));
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal(await aio.kill("SIGTERM"), 0, aio.output().slice(-2000));
  const ch = openChdb(dataDir);
  const rows = await queryRows<{ packets: number | string; bytes: number | string; type: string }>(
    ch,
    "SELECT sum(LastUpdateMetric.ABPackets) AS packets, sum(LastUpdateMetric.ABBytes) AS bytes, any(CaptureType) AS type FROM skystream.flows " +
      "WHERE Host = 'aio-cap' AND Network.B = '198.18.70.2' AND Transport.B = 9911",
  );
  await ch.close();
  const [row] = rows;
  assert.deepEqual([Number(row?.packets), Number(row?.bytes), row?.type], [20, 20 * (300 + 42), "pcap"]);
});
