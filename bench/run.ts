// npm run bench: figures beside a reference measured in the same run, on this machine.
import { cpus, totalmem } from "node:os";
import { benchCodec } from "./codec.ts";
import { benchEndToEnd, rawIngest } from "./e2e.ts";
import { startKafka } from "../test/harness/kafka.ts";
import { benchTopology } from "./topology.ts";

// BENCH_ONLY=codec,e2e,topology picks sections (default: all).
const only = new Set((process.env.BENCH_ONLY ?? "codec,e2e,topology").split(","));

const flows = Number(process.env.BENCH_FLOWS ?? 300_000);
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const rows: string[][] = [["figure", "value", "reference (same run)", "ratio", "target"]];
const row = (figure: string, value: number, unit: string, refName: string, ref: number, target: string) =>
  rows.push([figure, `${fmt(value)} ${unit}`, `${refName}: ${fmt(ref)} ${unit}`, `${(value / ref).toFixed(2)}×`, target]);

function printTable(): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((cell, i) => cell.padEnd(widths[i]!)).join("  "));
}

console.log(`skystream bench — ${cpus().length} × ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`);

if (only.has("codec")) {
  const c = benchCodec(200_000);
  row("FlowRecord encode (avsc + framing)", c.encodeAvro, "rec/s", "JSON.stringify", c.encodeJson, "≥ 1.3× JSON");
  row("FlowRecord decode (avsc, validated)", c.decodeAvro, "rec/s", "JSON.parse", c.decodeJson, "≥ 1.3× JSON");
  console.log(`record size: Avro ${c.avroBytes.toFixed(0)} B, JSON ${c.jsonBytes.toFixed(0)} B`);
}

if (only.has("topology")) {
  const n = Number(process.env.BENCH_NAMESPACES ?? 200);
  const tp = await benchTopology(n);
  const secs = (v: number) => `${v.toFixed(2)} s`;
  rows.push([
    `topology: first complete snapshot, ${n} namespaces`,
    secs(tp.snapshotSecs),
    `reading them with ip alone: ${secs(tp.ipReadSecs)}`,
    `${(tp.snapshotSecs / tp.ipReadSecs).toFixed(2)}×`,
    "",
  ]);
  rows.push([
    `topology: burst of ${tp.burstChanges} changes, all deltas out`,
    secs(tp.burstSecs),
    `making the changes: ${secs(tp.burstApplySecs)}`,
    `+${secs(tp.burstSecs - tp.burstApplySecs)}`,
    "",
  ]);
  rows.push([`topology: agent idle, ${n} namespaces`, `${tp.idleCpuPercent.toFixed(1)} % CPU, ${tp.idleRssMb.toFixed(0)} MB RSS`, "", "", ""]);
}

if (!only.has("e2e")) {
  printTable();
  process.exit(0);
}

const raw = await rawIngest(flows);
console.log(`chDB raw ingest of ${fmt(flows)} flow rows from Avro: ${fmt(raw.rowsPerSec)} rows/s; ${raw.bytesPerRow.toFixed(1)} bytes/row on disk`);
const broker = await startKafka({ heap: "1g" });
try {
  for (const client of ["kafkajs", "rdkafka"] as const) {
    const r = await benchEndToEnd(client, flows, broker);
    row(`[${client}] agent → broker (produce)`, r.produce, "flows/s", "chDB raw ingest", raw.rowsPerSec, "");
    row(`[${client}] broker → chDB (consume + insert)`, r.consumeInsert, "flows/s", "chDB raw ingest", raw.rowsPerSec, "");
    row(`[${client}] agent → broker → pipeline → chDB`, r.endToEnd, "flows/s", "chDB raw ingest", raw.rowsPerSec, "≥ 150,000/s and ≥ 0.40×");
  }
} finally {
  await broker.stop();
}

printTable();
process.exit(0);
