// A query API for tests and the schemathesis stand: the in-process bus, a fresh embedded ClickHouse, and
// a way to publish topology changes as an agent would.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { AvroCodec, TOPOLOGY_DELTA, type Node as AvroNode, type TopologyDelta } from "@skystream/schemas";
import { createBus, createRegistry, kafkaConfig, type Bus } from "@skystream/common";
import { clickhouseConfig, migrate, openStorage, type Storage } from "../storage/clickhouse/index.js";
import { apiConfig } from "./config.js";
import { startApi, type RunningApi } from "./start.js";

/** A node as a test gives it: an ID, and whatever differs from an interface's defaults. */
export type NodeChange = Partial<Omit<AvroNode, "Metadata">> & { ID: string; Metadata?: Partial<AvroNode["Metadata"]> };

export interface TestApi {
  api: RunningApi;
  bus: Bus;
  storage: Storage;
  codec: AvroCodec;
  /** Publishes node deltas from agent "h1" (fields not given take an interface's defaults). */
  publish(...changes: [TopologyDelta["Op"], NodeChange][]): Promise<void>;
  close(): Promise<void>;
}

export async function startTestApi(
  opts: { listen?: string; api?: Record<string, unknown>; topologyTopic?: string; controlTopic?: string } = {},
): Promise<TestApi> {
  const log = pino({ level: "error" });
  const cfg = clickhouseConfig.parse({ data_path: mkdtempSync(join(tmpdir(), "skystream-test-api-")), database: "testapi" });
  const storage = await openStorage(cfg, log);
  await migrate(storage, cfg, log);
  const bus = createBus("memory", kafkaConfig.parse({}), log);
  const topic = opts.topologyTopic ?? "skystream.topology.v1";
  await bus.ensureTopics([{ topic, partitions: 1, replicationFactor: 1 }]);
  const producer = bus.producer();
  await producer.connect();
  const codec = new AvroCodec();
  let seq = 0;
  const publish: TestApi["publish"] = async (...changes) => {
    const now = Date.now();
    const deltas = changes.map(([Op, node]): TopologyDelta => {
      seq++;
      return {
        Op,
        Origin: "agent.h1",
        Host: "h1",
        Time: now,
        Sequence: seq,
        SnapshotID: "",
        Node: {
          Host: "h1",
          Origin: "agent.h1",
          Type: "veth",
          Name: node.ID,
          CreatedAt: now,
          UpdatedAt: now,
          DeletedAt: null,
          Revision: seq,
          ...node,
          Metadata: { TID: node.ID, MAC: "", MTU: 1500, State: "UP", IfIndex: seq, Driver: "", IPV4: [], IPV6: [], Extra: "{}", ...node.Metadata },
        },
        Edge: null,
      };
    });
    await producer.send(
      topic,
      deltas.map((d) => ({ key: d.Origin, value: codec.encode(TOPOLOGY_DELTA, d) })),
    );
  };
  const api = await startApi(apiConfig.parse({ listen: opts.listen ?? "127.0.0.1:0", ...opts.api }), {
    bus,
    storage,
    codec,
    log,
    metrics: createRegistry("test-api"),
    topologyTopic: topic,
    groupPrefix: "test-api",
    pipeline: { group: "test-pipeline", topics: [topic] },
    controlTopic: opts.controlTopic,
  });
  return {
    api,
    bus,
    storage,
    codec,
    publish,
    async close() {
      await api.stop();
      await producer.disconnect();
      await storage.close();
    },
  };
}
