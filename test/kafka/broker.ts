// CLI around the harness, for test/run-all.sh and by hand:
//   tsx test/kafka/broker.ts start <state-file>   starts a broker, writes {bootstrap, pid, logFile}, returns
//   tsx test/kafka/broker.ts stop <state-file>    stops it
import { readFileSync, writeFileSync } from "node:fs";
import { startKafka } from "../harness/kafka.ts";
import { stopPid } from "../harness/stop-pid.ts";

const [cmd, stateFile] = process.argv.slice(2);
if (!stateFile || (cmd !== "start" && cmd !== "stop")) {
  console.error("usage: broker.ts start|stop <state-file>");
  process.exit(2);
}
if (cmd === "start") {
  const t0 = Date.now();
  const b = await startKafka();
  writeFileSync(stateFile, JSON.stringify({ bootstrap: b.bootstrap, pid: b.pid, logFile: b.logFile, dir: b.dir }));
  console.log(`kafka broker up at ${b.bootstrap} (pid ${b.pid}) in ${Date.now() - t0} ms; log ${b.logFile}`);
  // Leave the broker running after this process exits.
  process.exit(0);
} else {
  await stopPid((JSON.parse(readFileSync(stateFile, "utf8")) as { pid: number }).pid, 15_000);
}
