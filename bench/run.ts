// npm run bench: figures beside a reference measured in the same run, on this machine.
import { readFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { benchCodec } from "./codec.ts";
import { benchEndToEnd, rawIngest } from "./e2e.ts";
import { benchFlowMem, benchFlowTable, benchSflow, type SflowReceiver } from "./flows.ts";
import { startKafka } from "../test/harness/kafka.ts";
import { benchTopology } from "./topology.ts";
import { benchAllInOne } from "./allinone.ts";
import { benchHistory } from "./history.ts";
import { benchGremlin } from "./gremlin.ts";
import { benchApi } from "./api.ts";
import { benchRender } from "./render.ts";

// BENCH_ONLY=codec,e2e,topology,history,gremlin,api,render,allinone,flowtable,sflow,flowmem picks sections (default: all).
const only = new Set((process.env.BENCH_ONLY ?? "codec,e2e,topology,history,gremlin,api,render,allinone,flowtable,sflow,flowmem").split(","));

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

// Other work on the machine moves these figures: say how busy it was when each section started.
const load = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");

if (only.has("flowtable")) {
  const l = load();
  const ft = await benchFlowTable(Number(process.env.BENCH_PCAP_PACKETS ?? 2_000_000), Number(process.env.BENCH_PCAP_FLOWS ?? 20_000));
  console.log(
    `flowtable: ${fmt(ft.packets)} packets, ${fmt(ft.flows)} flows, ${ft.fileMb.toFixed(0)} MiB pcap (written in ${ft.genSecs.toFixed(1)} s); load average ${l}`,
  );
  console.log(
    `flowtable: packets/s by stage: read ${fmt(ft.readOnly)}, read + decode ${fmt(ft.readDecode)}, read + decode + table ${fmt(ft.ours)} ` +
      `(CPU/wall ${ft.oursCpu.toFixed(2)}; ${fmt(ft.flowsCreated)} flows created, ${fmt(ft.records)} records emitted per replay)`,
  );
  row("pcap read + decode + flow table, in process, best of 3", ft.ours, "packets/s", "tcpdump -r FILE -w /dev/null", ft.tcpdump, "≥ 1,000,000/s and ≥ 0.50×");
  rows.push([
    "skystream agent --pcap FILE --print > /dev/null",
    `${fmt(ft.cli)} packets/s`,
    `${ft.cliSecs.toFixed(1)} s wall, startup included`,
    `${(ft.cli / ft.tcpdump).toFixed(2)}×`,
    "(information)",
  ]);
}

if (only.has("sflow")) {
  console.log(`sflow: load average ${load()}`);
  const sf = await benchSflow(Number(process.env.BENCH_SFLOW_SECS ?? 4), (who, s) =>
    console.log(
      `sflow [${who}] ${fmt(s.rate)} datagrams/s: sent ${fmt(s.sent.datagrams)} (${fmt(s.sent.datagrams / s.sent.secs)}/s), ` +
        `${who === "ours" ? "decoded" : "taken off the socket"} ${fmt(s.received)}, drops ${fmt(s.drops)} (kernel ${fmt(s.kernelDrops)}` +
        `${who === "sfacctd" ? `, flow samples missing from its output ${fmt(s.missingFlowSamples)}` : ""}), receiver CPU ${s.cpu.toFixed(2)} core`,
    ),
  );
  console.log(
    `sflow: ${fmt(sf.datagrams)} datagrams (overflowd capture ×16, rewritten addresses), ${sf.samplesPerDatagram.toFixed(2)} samples ` +
      `(${sf.flowSamplesPerDatagram.toFixed(2)} flow) each; ${sf.stepSecs} s per rate; receive buffers: ours ${fmt(sf.ours.receiveBuffer)} B, ` +
      `sfacctd ${fmt(sf.sfacctd.receiveBuffer)} B`,
  );
  const best = (r: SflowReceiver) => {
    const s = r.best;
    if (!s) return { value: 0, text: `drops at ${fmt(r.steps[0]?.rate ?? 0)} datagrams/s` };
    const value = s.sent.samples / s.sent.secs;
    const limit = r.senderLimited ? ", sender's limit" : "";
    return { value, text: `${fmt(value)} samples/s (${fmt(s.sent.datagrams / s.sent.secs)} datagrams/s, ${s.cpu.toFixed(2)} core${limit})` };
  };
  const [ours, ref] = [best(sf.ours), best(sf.sfacctd)];
  rows.push([
    "sFlow over UDP: highest rate without a drop",
    ours.text,
    `sfacctd: ${ref.text}`,
    ref.value ? `${(ours.value / ref.value).toFixed(2)}×` : "",
    "≥ 1.00×",
  ]);
}

if (only.has("flowmem")) {
  const l = load();
  const fm = await benchFlowMem(Number(process.env.BENCH_HELD_FLOWS ?? 500_000), Number(process.env.BENCH_HELD_RATE ?? 50_000));
  const { full, empty } = fm;
  console.log(
    `flowmem: ${fmt(full.flows)} flows created in ${full.fillSecs.toFixed(1)} s (${fmt(full.flows / full.fillSecs)}/s); ` +
      `JS heap ${full.heapMb.toFixed(0)} MB (empty: ${empty.heapMb.toFixed(0)} MB); peak RSS ${full.hwmMb.toFixed(0)} MB; load average ${l}`,
  );
  rows.push([
    `agent holding ${fmt(full.flows)} flows: RSS`,
    `${full.rssMb.toFixed(0)} MB`,
    `empty table: ${empty.rssMb.toFixed(0)} MB`,
    `${fmt(fm.bytesPerFlow)} B/flow`,
    "< 200 MB",
  ]);
  rows.push([
    `… while fed ${fmt(full.rate)} packets/s of them: CPU over ${fm.secs} s`,
    `${full.cpu.toFixed(2)} core`,
    `empty table, idle: ${empty.cpu.toFixed(2)} core`,
    "",
    "< 0.5 core",
  ]);
}

if (only.has("history")) {
  console.log(`history: load average ${load()}`);
  const h = await benchHistory({
    revisions: Number(process.env.BENCH_REVISIONS ?? 10_000_000),
    flowRows: Number(process.env.BENCH_MATRIX_ROWS ?? 100_000_000),
  });
  console.log(
    `history: ${fmt(h.deltas)} deltas applied in memory at ${fmt(h.deltas / h.applySecs)}/s; ${fmt(h.flowRows)} flow rows generated in ${h.generateSecs.toFixed(1)} s ` +
      `(MV included); the graph at t has ${fmt(h.atElements)} elements; the matrix ${fmt(h.matrixRows)} rows`,
  );
  row(
    "topology: 100k nodes + 200k edges as deltas, applied + written",
    h.deltas / h.applyWriteSecs,
    "deltas/s",
    "writing the same rows alone",
    h.deltas / h.writeOnlySecs,
    "≥ 200,000/s",
  );
  const secs = (v: number) => `${v.toFixed(3)} s`;
  rows.push([
    `At(t) over ${fmt(h.revisions)} revisions`,
    secs(h.atSecs),
    `full scan of the revisions' validity: ${secs(h.scanSecs)}`,
    `${(h.atSecs / h.scanSecs).toFixed(2)}×`,
    "< 1 s",
  ]);
  rows.push([
    `flow matrix over ${fmt(h.flowRows)} flow rows`,
    secs(h.matrixSecs),
    `computed from the flows table: ${secs(h.matrixFromFlowsSecs)}`,
    `${(h.matrixSecs / h.matrixFromFlowsSecs).toFixed(3)}×`,
    "< 1 s",
  ]);
}

if (only.has("gremlin")) {
  const g = await benchGremlin(Number(process.env.BENCH_GREMLIN_RUNS ?? 50));
  console.log(
    `gremlin: ${fmt(g.nodes)} nodes, ${fmt(g.edges)} edges indexed in ${g.buildSecs.toFixed(1)} s; p50 / p99 per query (${g.figures.length} queries)`,
  );
  const ms = (v: number) => `${v.toFixed(2)} ms`;
  for (const f of g.figures)
    rows.push([
      `live Gremlin: ${f.query} → ${f.result}`,
      `${ms(f.p50)} / ${ms(f.p99)}`,
      `same graph in plain maps: ${ms(f.refP50)} / ${ms(f.refP99)}`,
      `${(f.p99 / f.refP99).toFixed(2)}×`,
      "p99 < 20 ms",
    ]);
}

if (only.has("api")) {
  const a = await benchApi();
  for (const f of a.figures)
    rows.push([
      `API under load: ${f.what}`,
      `${fmt(f.requestsPerSec)} req/s, p99 ${f.p99Ms} ms`,
      `${a.reference.what}: ${fmt(a.reference.requestsPerSec)} req/s`,
      `${(f.requestsPerSec / a.reference.requestsPerSec).toFixed(2)}×`,
      "",
    ]);
}

if (only.has("render")) {
  const sizes = (process.env.BENCH_RENDER_SIZES ?? "1000,10000,50000").split(",").map(Number);
  const r = await benchRender(sizes, Number(process.env.BENCH_RENDER_SECS ?? 3));
  const ms = (v: number) => `${v < 10 ? v.toFixed(1) : fmt(v)} ms`;
  const frames = (f: (typeof r)["empty"]) => `${f.fps.toFixed(0)} fps, p95 frame ${ms(f.p95FrameMs)}`;
  const ref = `empty rAF loop: ${frames(r.empty)}`;
  console.log(
    `render: Chromium ${r.browser} headless, software raster, ${r.viewport.width}×${r.viewport.height}; ` +
      `empty rAF loop on the same page ${r.empty.fps.toFixed(1)} fps; load average ${load()}`,
  );
  for (const { load: l, panFit, panHost, zoom } of r.sizes) {
    const k = `${fmt(l.nodes / 1000)}k`;
    const target = (text: string) => (l.nodes >= 9_000 && l.nodes <= 11_000 ? text : "");
    console.log(
      `render ${k}: ${fmt(l.nodes)} nodes, ${fmt(l.edges)} edges (${fmt(l.links)} links), ${l.hosts} hosts; draws/frames (pan, pan close up, zoom) ` +
        [panFit, panHost, zoom].map((f) => `${f.draws}/${f.frames}`).join(", "),
    );
    rows.push([
      `render ${k} nodes: setGraph (model + layout)`,
      `${ms(l.setGraphMs)} (layout ${ms(l.layoutMs)})`,
      `JSON.parse of the graph: ${ms(l.parseMs)}`,
      `${(l.setGraphMs / l.parseMs).toFixed(2)}×`,
      target("< 2 s"),
    ]);
    rows.push([
      `render ${k} nodes: first draw, fitted`,
      `${ms(l.firstDrawMs)} (on screen ${ms(l.firstFrameMs)} after setGraph)`,
      `one frame of the empty rAF loop: ${ms(r.empty.p50FrameMs)}`,
      `${(l.firstDrawMs / r.empty.p50FrameMs).toFixed(2)}×`,
      "",
    ]);
    for (const [what, f] of [
      [`pan, whole topology (scale ${panFit.minScale.toFixed(2)})`, panFit],
      [`pan, one host close up (scale ${panHost.minScale.toFixed(2)})`, panHost],
      [`zoom in/out about a host (scale ${zoom.minScale.toFixed(2)}–${zoom.maxScale.toFixed(2)})`, zoom],
    ] as const)
      rows.push([`render ${k} nodes: ${what}`, `${frames(f)}, p95 draw ${ms(f.p95DrawMs)}`, ref, `${(f.fps / r.empty.fps).toFixed(2)}×`, target("≥ 30 fps")]);
  }
  for (const s of r.screenshots)
    console.log(`render: ${s.file} at scale ${s.scale.toFixed(2)}: ${fmt(s.boxes)} boxes, ${fmt(s.labels)} labels, ${fmt(s.links)} links drawn`);
}

if (only.has("allinone")) {
  const n = Number(process.env.BENCH_NAMESPACES ?? 200);
  const pps = Number(process.env.BENCH_AIO_PPS ?? 10_000);
  console.log(`allinone: load average before ${load()}`);
  const a = await benchAllInOne(n, pps, Number(process.env.BENCH_AIO_SECS ?? 30));
  const secs = (v: number) => `${v.toFixed(2)} s`;
  rows.push([`all-in-one: start → API answering`, secs(a.apiSecs), "", "", "seconds"]);
  rows.push([
    `all-in-one: start → all ${n} namespaces in the API`,
    secs(a.labSecs),
    `reading them with ip alone: ${secs(a.ipReadSecs)}`,
    `${(a.labSecs / a.ipReadSecs).toFixed(2)}×`,
    "seconds",
  ]);
  rows.push([
    `all-in-one: ${n} namespaces, capturing ${fmt(a.packetsPerSec)} packets/s (${fmt(a.flows)} flows)`,
    `${a.cpuPercent.toFixed(0)} % CPU, ${a.rssMb.toFixed(0)} MB RSS (peak ${a.peakRssMb.toFixed(0)})`,
    `the traffic generator: ${a.generatorCpuPercent.toFixed(0)} % CPU`,
    `${(a.cpuPercent / Math.max(1, a.generatorCpuPercent)).toFixed(2)}×`,
    "",
  ]);
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
