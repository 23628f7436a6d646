import type { Logger } from "pino";
import type { KafkaConfig } from "./config.js";
import { KafkajsBus } from "./kafkajs.js";
import { MemoryBus } from "./memory.js";
import { RdkafkaBus } from "./rdkafka.js";
import type { Bus } from "./types.js";

export * from "./types.js";
export * from "./config.js";
export { SendQueue, type SendQueueOptions } from "./send-queue.js";
export { MemoryBus } from "./memory.js";

/** The bus a config asks for. Constructing one opens no connection. */
export function createBus(type: "kafka" | "memory", kafka: KafkaConfig, log: Logger): Bus {
  if (type === "memory") return new MemoryBus(kafka.topics.partitions);
  return kafka.client === "rdkafka" ? new RdkafkaBus(kafka, log.child({ bus: "rdkafka" })) : new KafkajsBus(kafka, log.child({ bus: "kafkajs" }));
}
