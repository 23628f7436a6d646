import type { AvroCodec } from "@skystream/schemas";
import type { Bus, Factory, Logger, MetricsRegistry, Producer } from "@skystream/common";
import type { Storage } from "../storage/clickhouse/index.js";

/** What every sink receives; it imports none of these itself. */
export interface SinkDeps {
  bus: Bus;
  /** Shared producer (dead letters). */
  producer: Producer;
  storage: Storage;
  codec: AvroCodec;
  log: Logger;
  metrics: MetricsRegistry;
  /** Consumer group of this pipeline. */
  groupId: string;
  dlqTopic: string;
}

export interface Sink {
  /** Instance id, "type" or "type/name". */
  readonly id: string;
  /** Topics it consumes, for topic creation and lag. */
  readonly topics: string[];
  /** Other topics it reads or writes (created at start). */
  readonly otherTopics?: string[];
  /** Records it publishes and on which topic (registered in the schema registry when there is one). */
  readonly writes?: { topic: string; record: string }[];
  start(): Promise<void>;
  /** Flushes what is buffered, commits and disconnects. */
  stop(): Promise<void>;
  healthcheck(): Promise<void>;
}

export type SinkFactory<C = any> = Factory<C, SinkDeps & { id: string }, Sink>;
