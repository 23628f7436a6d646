// schemathesis (PyPI) against the query API's own OpenAPI document: generated valid and invalid requests
// to every route. Zero server errors, every answer's status, content type and body as documented,
// invalid input refused. (Not checked: that every schema-valid request is accepted — a Gremlin query
// or a capture selection can be well-formed JSON and still not a query — and the answers to HTTP
// methods the spec does not list, which fastify gives before any route is found.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../harness/kafka.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SCHEMATHESIS = `${ROOT}test/.venv/bin/schemathesis`;

test("schemathesis finds no server error and no answer that breaks the OpenAPI document", { timeout: 300_000 }, async (t) => {
  assert.ok(existsSync(SCHEMATHESIS), `schemathesis is not installed at ${SCHEMATHESIS}: run scripts/install.sh --test`);
  const port = await freePort();
  const stand = spawn(process.execPath, ["--import", "tsx", `${ROOT}test/harness/api-stand.ts`, `127.0.0.1:${port}`], { stdio: ["ignore", "pipe", "pipe"] });
  t.after(() => stand.kill("SIGKILL"));
  let out = "";
  stand.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const address = await new Promise<string>((resolve, reject) => {
    stand.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /"address":"([^"]+)"/.exec(out);
      if (m) resolve(m[1]!);
    });
    stand.once("exit", (code) => reject(new Error(`the API stand exited (${code}): ${out}`)));
  });
  const run = spawnSync(
    SCHEMATHESIS,
    [
      "run",
      `${address}/api/openapi.json`,
      "--checks",
      "all",
      "--exclude-checks",
      "positive_data_acceptance,unsupported_method",
      "--max-examples",
      "60",
      "--seed",
      "20261123",
      "--no-color",
    ],
    // Its cache (.schemathesis, .hypothesis) goes to a scratch directory, not the repository.
    { encoding: "utf8", timeout: 240_000, cwd: mkdtempSync(join(tmpdir(), "skystream-schemathesis-")) },
  );
  const report = `${run.stdout}\n${run.stderr}`;
  assert.equal(run.status, 0, report.slice(-6000));
  const selected = /Selected: (\d+)\/(\d+)/.exec(report);
  assert.ok(selected && Number(selected[1]) === Number(selected[2]) && Number(selected[2]) >= 30, `every operation selected: ${selected?.[0]}`);
  assert.match(report, new RegExp(`Tested: ${selected[2]}\\b`), "every operation was tested");
  assert.doesNotMatch(report, /\bfailures? in\b/);
  t.diagnostic(/API Links:.*/.exec(report)?.[0] ?? "no API links line");
});
