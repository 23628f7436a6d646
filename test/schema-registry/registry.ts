// CLI around the harness, for test/run-all.sh and by hand:
//   tsx test/schema-registry/registry.ts start <state-file>   starts Apicurio Registry, writes {url, pid, logFile}, returns
//   tsx test/schema-registry/registry.ts stop <state-file>    stops it
import { readFileSync, writeFileSync } from "node:fs";
import { APICURIO_VERSION, startSchemaRegistry } from "../harness/schema-registry.ts";
import { stopPid } from "../harness/stop-pid.ts";

const [cmd, stateFile] = process.argv.slice(2);
if (!stateFile || (cmd !== "start" && cmd !== "stop")) {
  console.error("usage: registry.ts start|stop <state-file>");
  process.exit(2);
}
if (cmd === "start") {
  const r = await startSchemaRegistry();
  writeFileSync(stateFile, JSON.stringify({ url: r.url, pid: r.pid, logFile: r.logFile }));
  console.log(`apicurio registry ${APICURIO_VERSION} up at ${r.url} (pid ${r.pid}) in ${r.startedInMs} ms; log ${r.logFile}`);
  // Leave the registry running after this process exits.
  process.exit(0);
} else {
  await stopPid((JSON.parse(readFileSync(stateFile, "utf8")) as { pid: number }).pid, 10_000);
}
