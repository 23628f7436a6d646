// A query API over the in-process bus and a fresh embedded ClickHouse, with a small graph and a few flows:
// what the schemathesis run probes. Prints {"address": ...} on its first line, runs until killed.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { AvroCodec, TOPOLOGY_DELTA, type TopologyDelta } from "@skystream/schemas";
import { createBus, createRegistry, kafkaConfig } from "@skystream/common";
import { clickhouseConfig, migrate, openStorage } from "@skystream/pipeline/storage/clickhouse/index";
import { apiConfig } from "@skystream/pipeline/api/config";
import { startApi } from "@skystream/pipeline/api/start";

const log = pino({ level: "error" });
const cfg = clickhouseConfig.parse({ data_path: mkdtempSync(join(tmpdir(), "skystream-api-stand-")) });
const storage = await openStorage(cfg, log);
await migrate(storage, cfg, log);
const bus = createBus("memory", kafkaConfig.parse({}), log);
const codec = new AvroCodec();
const producer = bus.producer();
await producer.connect();
const now = Date.now();
let seq = 0;
const node = (ID: string, Type: string, Name: string): TopologyDelta => ({
  Op: "ADD",
  Origin: "agent.stand",
  Host: "stand",
  Time: now,
  Sequence: ++seq,
  SnapshotID: "",
  Node: {
    ID,
    Host: "stand",
    Origin: "agent.stand",
    Type,
    Name,
    Metadata: { TID: ID, MAC: "", MTU: 1500, State: "UP", IfIndex: seq, Driver: "", IPV4: ["198.18.0.1/24"], IPV6: [], Extra: "{}" },
    CreatedAt: now,
    UpdatedAt: now,
    DeletedAt: null,
    Revision: 1,
  },
  Edge: null,
});
await bus.ensureTopics([{ topic: "skystream.topology.v1", partitions: 1, replicationFactor: 1 }]);
await producer.send(
  "skystream.topology.v1",
  [node("h", "host", "stand"), node("ns", "netns", "blue"), node("if", "veth", "eth0")].map((d) => ({
    key: "agent.stand",
    value: codec.encode(TOPOLOGY_DELTA, d),
  })),
);
const api = await startApi(apiConfig.parse({ listen: process.argv[2] ?? "127.0.0.1:0", query_timeout: 2000 }), {
  bus,
  storage,
  codec,
  log,
  metrics: createRegistry("api-stand"),
  groupPrefix: "stand",
  pipeline: { group: "stand", topics: ["skystream.flows.v1"] },
});
process.stdout.write(`${JSON.stringify({ address: api.address })}\n`);
process.on(
  "SIGTERM",
  () =>
    void api
      .stop()
      .then(() => storage.close())
      .finally(() => process.exit(0)),
);
