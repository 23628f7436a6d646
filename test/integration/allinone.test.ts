// The README's first command: the all-in-one (agent + pipeline, in-process bus, embedded ClickHouse).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openChdb, queryRows } from "../harness/clickhouse.ts";
import { startSkystream, waitFor } from "../harness/skystream-process.ts";

test("all-in-one stores synthetic flows in its embedded ClickHouse and keeps them across restarts", { timeout: 120_000 }, async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), "skystream-aio-"));
  const env = { SKYSTREAM_CLICKHOUSE_DATA_PATH: dataDir, SKYSTREAM_AGENT_HOST_ID: "aio-host" };
  const counts: number[] = [];
  for (let run = 0; run < 2; run++) {
    const aio = await startSkystream(["allinone", "--synthetic", "5000"], env);
    t.after(() => aio.kill("SIGKILL"));
    await aio.waitForOutput(/all-in-one running/);
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
