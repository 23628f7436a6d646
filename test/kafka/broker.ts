// CLI around the harness, for test/run-all.sh and by hand:
//   tsx test/kafka/broker.ts start <state-file>   starts a broker, writes {bootstrap, pid, logFile}, returns
//   tsx test/kafka/broker.ts stop <state-file>    stops it
import { readFileSync, writeFileSync } from "node:fs";
import { startKafka } from "../harness/kafka.ts";

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
  const s = JSON.parse(readFileSync(stateFile, "utf8")) as { pid: number };
  try {
    process.kill(s.pid, "SIGTERM");
  } catch {
    /* gone */
  }
  for (let i = 0; i < 150; i++) {
    try {
      process.kill(s.pid, 0);
    } catch {
      process.exit(0);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  process.kill(s.pid, "SIGKILL");
}
