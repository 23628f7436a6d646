// Bus over kafkajs (pure JavaScript Kafka client).
import "./kafkajs-patches.js";
import kafkajs from "kafkajs";
import { compressFrame, decompressFrame } from "lz4-napi";
import type { Logger } from "pino";
import type { KafkaConfig } from "./config.js";
import { tlsConnectOptions } from "../tls.js";
import { partitionOf } from "./murmur2.js";
import type { Bus, BusMessage, Consumer, ConsumerHandlers, GroupLag, OutMessage, PartitionOffset, Producer, TopicSpec } from "./types.js";

const { Kafka, CompressionTypes, logLevel } = kafkajs;

const COMPRESSION: Record<KafkaConfig["producer"]["compression"], kafkajs.CompressionTypes> = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
};

// kafkajs ships a codec for gzip only (the others throw "not implemented"); LZ4 (Kafka's framed LZ4)
// comes from lz4-napi. Snappy and zstd fall back to none with one warning.
(kafkajs.CompressionCodecs as Record<number, unknown>)[CompressionTypes.LZ4] = () => ({
  compress: async (encoder: { buffer: Buffer }) => compressFrame(encoder.buffer),
  decompress: async (buffer: Buffer) => decompressFrame(buffer),
});

function supportedCompression(c: KafkaConfig["producer"]["compression"], log: Logger): kafkajs.CompressionTypes {
  if (c === "none" || c === "gzip" || c === "lz4") return COMPRESSION[c];
  log.warn({ compression: c }, "kafkajs has no codec for this compression; producing uncompressed (use client: rdkafka for zstd and snappy)");
  return CompressionTypes.None;
}

function headersOf(h: kafkajs.IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? String(v[0]) : String(v);
  return out;
}

function pinoLogCreator(log: Logger): kafkajs.logCreator {
  return () =>
    ({ level, log: entry }) => {
      const { message, ...rest } = entry;
      if (level === logLevel.ERROR) log.error(rest, `kafkajs: ${message}`);
      else if (level === logLevel.WARN) log.warn(rest, `kafkajs: ${message}`);
      else log.debug(rest, `kafkajs: ${message}`);
    };
}

export class KafkajsBus implements Bus {
  readonly kind = "kafkajs";
  private readonly kafka: kafkajs.Kafka;
  private admin?: kafkajs.Admin;

  constructor(
    private readonly cfg: KafkaConfig,
    private readonly log: Logger,
  ) {
    this.kafka = new Kafka({
      clientId: cfg.client_id,
      brokers: cfg.brokers,
      ssl: cfg.tls.enabled ? tlsConnectOptions(cfg.tls, "kafka") : undefined,
      connectionTimeout: cfg.connection_timeout,
      logLevel: logLevel.WARN,
      logCreator: pinoLogCreator(log),
      retry: { initialRetryTime: 100, maxRetryTime: 5_000, retries: 8 },
    });
  }

  private async adminClient(): Promise<kafkajs.Admin> {
    if (!this.admin) {
      const a = this.kafka.admin();
      await a.connect();
      this.admin = a;
    }
    return this.admin;
  }

  producer(): Producer {
    // Idempotent, retried without limit: a broker that is away makes send() wait (the probes' backpressure)
    // rather than fail, and retries cannot duplicate.
    const p = this.kafka.producer({
      allowAutoTopicCreation: false,
      idempotent: true,
      maxInFlightRequests: 5,
      // Kafka's default key hash, in int32 arithmetic (kafkajs's own uses a 64-bit Long library per byte).
      createPartitioner:
        () =>
        ({ partitionMetadata, message }) =>
          message.key == null ? Math.floor(Math.random() * partitionMetadata.length) : partitionOf(message.key, partitionMetadata.length),
      retry: { initialRetryTime: 100, maxRetryTime: 10_000, retries: Number.MAX_SAFE_INTEGER },
    });
    const compression = supportedCompression(this.cfg.producer.compression, this.log);
    const batchSize = this.cfg.producer.batch_size;
    return {
      connect: () => p.connect(),
      async send(topic: string, messages: OutMessage[]) {
        for (let i = 0; i < messages.length; i += batchSize) {
          await p.send({
            topic,
            acks: -1,
            compression,
            messages: messages.slice(i, i + batchSize).map((m) => ({ key: m.key ?? null, value: m.value, headers: m.headers })),
          });
        }
      },
      disconnect: () => p.disconnect(),
    };
  }

  consumer(groupId: string): Consumer {
    const c = this.kafka.consumer({
      groupId,
      sessionTimeout: this.cfg.consumer.session_timeout,
      maxBytesPerPartition: this.cfg.consumer.max_partition_fetch_bytes,
      maxBytes: this.cfg.consumer.max_partition_fetch_bytes * 4,
      allowAutoTopicCreation: false,
    });
    let revoke: ConsumerHandlers["onRevoke"];
    let assigned: { topic: string; partition: number }[] = [];
    c.on(c.events.GROUP_JOIN, (e) => {
      const now = Object.entries(e.payload.memberAssignment).flatMap(([topic, ps]) => ps.map((partition) => ({ topic, partition })));
      // kafkajs reads every partition of the new assignment from its committed offset: all are revoked.
      const gone = assigned;
      assigned = now;
      if (gone.length > 0) void revoke?.(gone);
    });
    let subscribed: string[] = [];
    return {
      connect: () => c.connect(),
      async subscribe(topics: string[], fromBeginning = true) {
        subscribed = topics;
        await c.subscribe({ topics, fromBeginning });
      },
      async run(handlers: ConsumerHandlers) {
        revoke = handlers.onRevoke;
        await c.run({
          autoCommit: false,
          eachBatchAutoResolve: true,
          partitionsConsumedConcurrently: 1,
          eachBatch: async ({ batch, heartbeat }) => {
            const messages: BusMessage[] = batch.messages.map((m) => ({
              topic: batch.topic,
              partition: batch.partition,
              offset: m.offset,
              key: m.key,
              value: m.value,
              headers: headersOf(m.headers),
              timestamp: Number(m.timestamp),
            }));
            await handlers.onBatch({ topic: batch.topic, partition: batch.partition, messages, heartbeat });
            await heartbeat();
          },
        });
      },
      commit: (offsets: PartitionOffset[]) => c.commitOffsets(offsets),
      seek: (p: PartitionOffset) => c.seek(p),
      pause: () => c.pause(subscribed.map((topic) => ({ topic }))),
      resume: () => c.resume(subscribed.map((topic) => ({ topic }))),
      disconnect: () => c.disconnect(),
    };
  }

  async ensureTopics(topics: TopicSpec[]): Promise<void> {
    const admin = await this.adminClient();
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.topic));
    if (missing.length === 0) return;
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((t) => ({
        topic: t.topic,
        numPartitions: t.partitions,
        replicationFactor: t.replicationFactor,
        configEntries: Object.entries(t.config ?? {}).map(([name, value]) => ({ name, value })),
      })),
    });
    this.log.info({ topics: missing.map((t) => t.topic) }, "created topics");
  }

  async lag(groupId: string, topic: string): Promise<GroupLag[]> {
    const admin = await this.adminClient();
    const [ends, groups] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
    const committed = new Map((groups[0]?.partitions ?? []).map((p) => [p.partition, p.offset]));
    return ends.map((e) => ({ topic, partition: e.partition, end: e.high, committed: committed.get(e.partition) ?? "-1" }));
  }

  async healthcheck(): Promise<void> {
    const admin = await this.adminClient();
    await admin.describeCluster();
  }

  async close(): Promise<void> {
    await this.admin?.disconnect();
    this.admin = undefined;
  }
}
