// The pipeline's ClickHouse side at scale, on the embedded engine:
// - materializer: a 100k-node / 200k-edge topology as TopologyDeltas (snapshots of 10 origins) applied
//   and written as the clickhouse_topology sink does; reference: writing the same rows alone;
// - At(t) over 10M revisions (100k elements × 100 revisions, generated in the engine); reference: a
//   full count of the archive;
// - the flow matrix over N flow rows (100M by default, generated in the engine, aggregated by the MV as
//   they are inserted); reference: the same matrix computed from the flows table itself.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import type { TopologyDelta, Node as AvroNode, Edge as AvroEdge } from "@skystream/schemas";
import { TopologyTables, clickhouseConfig, migrate, openStorage, type Storage } from "@skystream/pipeline/storage/clickhouse/index";
import { Materializer } from "@skystream/pipeline/sinks/clickhouse-topology/materializer";

// Two days ago, at midnight: inside the flows TTL.
const T0 = Math.floor(Date.now() / 86_400_000 - 2) * 86_400_000;

function topologyDeltas(nodes: number, edges: number, origins: number): TopologyDelta[] {
  const out: TopologyDelta[] = [];
  const perOrigin = Math.ceil(nodes / origins);
  const edgesPerNode = edges / nodes;
  for (let o = 0; o < origins; o++) {
    const origin = `agent.bench-${o}`;
    const host = `bench-${o}`;
    let seq = 0;
    const d = (op: TopologyDelta["Op"], extra: Partial<TopologyDelta> = {}): TopologyDelta => ({
      Op: op,
      Origin: origin,
      Host: host,
      Time: T0,
      Sequence: ++seq,
      SnapshotID: "s",
      Node: null,
      Edge: null,
      ...extra,
    });
    out.push(d("SNAPSHOT_BEGIN"));
    for (let i = 0; i < perOrigin; i++) {
      const id = `n-${o}-${i}`;
      const node: AvroNode = {
        ID: id,
        Host: host,
        Origin: origin,
        Type: i % 10 === 0 ? "netns" : "veth",
        Name: `if${i}`,
        Metadata: {
          TID: id,
          MAC: "02:00:00:00:00:01",
          MTU: 1500,
          State: "UP",
          IfIndex: i,
          Driver: "veth",
          IPV4: [`198.18.${i % 250}.${o}/24`],
          IPV6: [],
          Extra: '{"Speed":10000}',
        },
        CreatedAt: T0,
        UpdatedAt: T0,
        DeletedAt: null,
        Revision: 1,
      };
      out.push(d("ADD", { Node: node }));
    }
    for (let i = 0; i < perOrigin * edgesPerNode; i++) {
      const edge: AvroEdge = {
        ID: `e-${o}-${i}`,
        Host: host,
        Origin: origin,
        Parent: `n-${o}-${Math.floor(i / edgesPerNode / 10) * 10}`,
        Child: `n-${o}-${Math.floor(i / edgesPerNode)}`,
        RelationType: i % 2 ? "layer2" : "ownership",
        Extra: "{}",
        CreatedAt: T0,
        UpdatedAt: T0,
        DeletedAt: null,
        Revision: 1,
      };
      out.push(d("ADD", { Edge: edge }));
    }
    out.push(d("SNAPSHOT_END"));
  }
  return out;
}

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const v = await fn();
  return [(performance.now() - t0) / 1000, v];
}

async function best(n: number, fn: () => Promise<unknown>): Promise<number> {
  let b = Infinity;
  for (let i = 0; i < n; i++) b = Math.min(b, (await timed(fn))[0]);
  return b;
}

const count = async (s: Storage, query: string) => Number((await (await s.client.query({ query, format: "JSONEachRow" })).json<{ c: string }>())[0]!.c);

export interface HistoryResult {
  deltas: number;
  applySecs: number;
  applyWriteSecs: number;
  writeOnlySecs: number;
  revisions: number;
  atSecs: number;
  atElements: number;
  scanSecs: number;
  flowRows: number;
  generateSecs: number;
  matrixRows: number;
  matrixSecs: number;
  matrixFromFlowsSecs: number;
}

export async function benchHistory(opts: { nodes?: number; edges?: number; revisions?: number; flowRows?: number } = {}): Promise<HistoryResult> {
  const nodes = opts.nodes ?? 100_000;
  const edges = opts.edges ?? 200_000;
  const revisions = opts.revisions ?? 10_000_000;
  const flowRows = opts.flowRows ?? 100_000_000;
  const dir = mkdtempSync(join(tmpdir(), "skystream-bench-history-"));
  const log = pino({ level: "warn" });
  const cfg = clickhouseConfig.parse({ data_path: dir, database: "bench" });
  const storage = await openStorage(cfg, log);
  try {
    await migrate(storage, cfg, log);
    const tables = new TopologyTables(storage);

    // 1. Materializer: apply + write in 50k-row rounds, as the sink does.
    const deltas = topologyDeltas(nodes, edges, 10);
    const m = new Materializer();
    let applySecs = 0;
    const rounds: ReturnType<Materializer["drain"]>[] = [];
    // As the sink does: a round is written while the next one is applied.
    const [applyWriteSecs] = await timed(async () => {
      let offset = 0n;
      let writing = Promise.resolve();
      for (const d of deltas) {
        const t0 = performance.now();
        m.apply(d, "bench.topology", 0, offset++, T0);
        applySecs += (performance.now() - t0) / 1000;
        if (m.pendingRows() >= 50_000) {
          await writing;
          const rows = m.drain();
          rounds.push(rows);
          writing = tables.write(rows);
        }
      }
      await writing;
      const rows = m.drain();
      rounds.push(rows);
      await tables.write(rows);
    });
    // Reference: the same rows written again into fresh tables, without the materializer.
    await storage.client.command({ query: "TRUNCATE TABLE bench.topology_live" });
    await storage.client.command({ query: "TRUNCATE TABLE bench.topology_origins" });
    const [writeOnlySecs] = await timed(async () => {
      for (const r of rounds) await tables.write(r);
    });

    // 2. At(t) over `revisions` revisions: 100 per element, one every minute, generated in the engine.
    const per = 100;
    const elements = Math.floor(revisions / per);
    await storage.client.command({ query: "TRUNCATE TABLE bench.topology_live" });
    await storage.client.command({
      query: `INSERT INTO bench.topology_archive (Kind, ID, Origin, Host, Type, Name, Parent, Child, RelationType, Metadata, CreatedAt, UpdatedAt, DeletedAt, Revision, ValidFrom, ValidTo)
              SELECT if(e % 3 = 0, 'edge', 'node'), concat('el-', toString(e)), concat('agent.h', toString(e % 100)), concat('h', toString(e % 100)),
                     if(e % 3 = 0, '', 'veth'), concat('if', toString(e)), '', '', if(e % 3 = 0, 'ownership', ''),
                     concat('{"MTU":', toString(1000 + r), ',"State":"UP"}'),
                     fromUnixTimestamp64Milli(${T0}), fromUnixTimestamp64Milli(${T0} + r * 60000), NULL, r + 1,
                     fromUnixTimestamp64Milli(${T0} + r * 60000), fromUnixTimestamp64Milli(${T0} + (r + 1) * 60000)
              FROM (SELECT intDiv(number, ${per}) AS e, number % ${per} AS r FROM numbers(${elements * per}))`,
      clickhouse_settings: { max_insert_threads: "2" },
    });
    const t = T0 + 50 * 60_000 + 30_000;
    const atSecs = await best(3, () => tables.at(t));
    const atElements = await count(storage, `SELECT count() AS c FROM bench.topology_at(t = fromUnixTimestamp64Milli(${t}))`);
    const scanSecs = await best(3, () => count(storage, "SELECT count() AS c FROM bench.topology_archive WHERE NOT ignore(ValidFrom, ValidTo)"));

    // 3. Flow matrix over `flowRows` flows: 1,000 client/server pairs over one day, through the MV.
    const [generateSecs] = await timed(() =>
      storage.client.command({
        query: `INSERT INTO bench.flows (Time, Host, UUID, TrackingID, "Network.Protocol", "Network.A", "Network.B", "Transport.Protocol", "Transport.A", "Transport.B",
                  "LastUpdateMetric.ABBytes", "LastUpdateMetric.ABPackets", "LastUpdateMetric.BABytes", "LastUpdateMetric.BAPackets", "LastUpdateMetric.Start", Start, Last,
                  "A.Host", "B.Host", "A.Process.Name", "A.Process.Process", "B.Process.Name", "B.Process.Process", Server)
                SELECT fromUnixTimestamp64Milli(${T0} + intDiv(number * 86400000, ${flowRows})), concat('h', toString(number % 50)),
                       toString(number), toString(number % 100000), 'IPV4',
                       toIPv6(IPv4NumToString(toUInt32(3323068416 + number % 1000))), toIPv6(IPv4NumToString(toUInt32(3323199488 + number % 20))),
                       if(number % 4 = 0, 'UDP', 'TCP'), 30000 + number % 30000, 8000 + number % 20,
                       1000 + number % 500, 10, 5000 + number % 700, 8,
                       -- one update in ten is a flow's first
                       if(number % 10 = 0, fromUnixTimestamp64Milli(${T0}), fromUnixTimestamp64Milli(${T0} + intDiv(number * 86400000, ${flowRows}))),
                       fromUnixTimestamp64Milli(${T0}), fromUnixTimestamp64Milli(${T0} + intDiv(number * 86400000, ${flowRows})),
                       concat('client-', toString(number % 50)), concat('server-', toString(number % 20)),
                       concat('proc', toString(number % 7)), concat('/usr/bin/proc', toString(number % 7)), 'svc', '/usr/sbin/svc', 'B'
                FROM numbers(${flowRows})`,
        clickhouse_settings: { max_insert_threads: "2", max_block_size: "1000000", min_insert_block_size_rows: "1000000" },
      }),
    );
    const matrixQuery = (from: string, agg: string) => `
      SELECT Protocol, Server, ServerIP, Port, ServerProc, ServerProcName, Client, ClientIP, ClientProc, ClientProcName, ${agg}
      FROM ${from} GROUP BY Protocol, Server, ServerIP, Port, ServerProc, ServerProcName, Client, ClientIP, ClientProc, ClientProcName`;
    const fromMv = matrixQuery("bench.flow_matrix_1h", "sum(ClientToServerBytes) AS up, sum(ServerToClientBytes) AS down, sum(Flows) AS flows");
    const matrixSecs = await best(3, () => storage.client.query({ query: fromMv, format: "JSONEachRow" }).then((r) => r.json()));
    const matrixRows = (await (await storage.client.query({ query: fromMv, format: "JSONEachRow" })).json()).length;
    const fromFlows = matrixQuery(
      `(SELECT "Transport.Protocol" AS Protocol, "B.Host" AS Server, "Network.B" AS ServerIP, "Transport.B" AS Port,
               "B.Process.Process" AS ServerProc, "B.Process.Name" AS ServerProcName, "A.Host" AS Client, "Network.A" AS ClientIP,
               "A.Process.Process" AS ClientProc, "A.Process.Name" AS ClientProcName, "LastUpdateMetric.ABBytes" AS ab, "LastUpdateMetric.BABytes" AS ba, "LastUpdateMetric.Start" = Start AS Started
        FROM bench.flows WHERE Server = 'B')`,
      "sum(ab) AS up, sum(ba) AS down, countIf(Started) AS flows",
    );
    const matrixFromFlowsSecs = await best(1, () => storage.client.query({ query: fromFlows, format: "JSONEachRow" }).then((r) => r.json()));
    return {
      deltas: deltas.length,
      applySecs,
      applyWriteSecs,
      writeOnlySecs,
      revisions: await count(storage, "SELECT count() AS c FROM bench.topology_archive"),
      atSecs,
      atElements,
      scanSecs,
      flowRows: await count(storage, "SELECT count() AS c FROM bench.flows"),
      generateSecs,
      matrixRows,
      matrixSecs,
      matrixFromFlowsSecs,
    };
  } finally {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
