import { z } from "zod";
import { duration, hostPort, section } from "../config/types.js";
import { tlsClientConfig } from "../tls.js";

export const kafkaConfig = section({
  /** Client library: kafkajs (pure JS) or rdkafka (librdkafka binding). */
  client: z.enum(["kafkajs", "rdkafka"]).default("kafkajs"),
  /** Bootstrap brokers, host:port. */
  brokers: z.array(hostPort).min(1).default(["127.0.0.1:9092"]),
  /** Client id reported to the brokers. */
  client_id: z.string().min(1).default("skystream"),
  /** How long a connection attempt may take. */
  connection_timeout: duration("10s"),
  /** TLS to the brokers (their SSL listener), with a client certificate for mutual TLS. */
  tls: tlsClientConfig,
  topics: section({
    /** Create missing topics at start. */
    create: z.boolean().default(true),
    /** Partitions of topics Skystream creates. */
    partitions: z.number().int().min(1).max(10_000).default(6),
    /** Replication factor of topics Skystream creates. */
    replication_factor: z.number().int().min(1).max(16).default(1),
  }),
  producer: section({
    /** Compression of produced batches. */
    compression: z.enum(["none", "gzip", "snappy", "lz4", "zstd"]).default("lz4"),
    /** Messages per produce request. */
    batch_size: z.number().int().min(1).max(1_000_000).default(10_000),
    /** Most messages held in memory waiting for the broker; senders wait beyond it. */
    max_buffered: z.number().int().min(1).default(200_000),
    /** How long a message may wait to fill a batch. */
    linger: duration("20ms"),
  }),
  consumer: section({
    /** Most bytes one fetch returns per partition. */
    max_partition_fetch_bytes: z
      .number()
      .int()
      .min(1024)
      .default(8 * 1024 * 1024),
    /** Session timeout of the group membership. */
    session_timeout: duration("30s"),
  }),
});

export type KafkaConfig = z.output<typeof kafkaConfig>;

export const busConfig = section({
  /** kafka for a deployment; memory runs every stage in one process (all-in-one). */
  type: z.enum(["kafka", "memory"]).default("kafka"),
});
