// The bus: the one small interface every stage talks to. Implementations: kafkajs, node-rdkafka
// (both against a real Kafka broker) and an in-process bus for the all-in-one mode.
export interface OutMessage {
  key?: Buffer | string | null;
  value: Buffer;
  headers?: Record<string, string>;
}

export interface BusMessage {
  topic: string;
  partition: number;
  /** Kafka offsets are 64-bit; kept as decimal strings end to end. */
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
  /** Broker or producer timestamp, ms. */
  timestamp: number;
}

/** Messages of one topic-partition, in offset order. */
export interface MessageBatch {
  topic: string;
  partition: number;
  messages: BusMessage[];
  /** Keeps the group membership alive while the handler waits (kafkajs); throws when a rebalance is due. */
  heartbeat?: () => Promise<void>;
}

/** The next offset to read for a partition (last processed + 1), as Kafka commits it. */
export interface PartitionOffset {
  topic: string;
  partition: number;
  offset: string;
}

export interface TopicSpec {
  topic: string;
  partitions: number;
  replicationFactor: number;
  config?: Record<string, string>;
}

export interface Producer {
  connect(): Promise<void>;
  /** Resolves once the broker acknowledged every message (acks per config). */
  send(topic: string, messages: OutMessage[]): Promise<void>;
  disconnect(): Promise<void>;
}

export interface ConsumerHandlers {
  /**
   * Called with each fetched batch; the next batch of that consumer waits until the promise settles,
   * which is how a slow sink pushes back. Nothing is committed automatically.
   */
  onBatch(batch: MessageBatch): Promise<void>;
  /** Partitions taken away by a rebalance: drop uncommitted state for them. */
  onRevoke?(partitions: { topic: string; partition: number }[]): Promise<void> | void;
}

export interface Consumer {
  connect(): Promise<void>;
  subscribe(topics: string[], fromBeginning?: boolean): Promise<void>;
  run(handlers: ConsumerHandlers): Promise<void>;
  /** Commits offsets; call only after the sink acknowledged the records before them. */
  commit(offsets: PartitionOffset[]): Promise<void>;
  /** Reads a partition again from `offset` (kafkajs). */
  seek?(p: PartitionOffset): void;
  pause(): void;
  resume(): void;
  disconnect(): Promise<void>;
}

export interface GroupLag {
  topic: string;
  partition: number;
  committed: string;
  end: string;
}

export interface Bus {
  readonly kind: string;
  producer(): Producer;
  consumer(groupId: string): Consumer;
  /** Creates missing topics; existing topics are left as they are. */
  ensureTopics(topics: TopicSpec[]): Promise<void>;
  /** Committed vs end offsets of a group on a topic. */
  lag(groupId: string, topic: string): Promise<GroupLag[]>;
  /** A real round trip to the bus (metadata), for boot and --check. */
  healthcheck(): Promise<void>;
  close(): Promise<void>;
}

export const totalLag = (lags: GroupLag[]): number =>
  lags.reduce((n, l) => n + Math.max(0, Number(BigInt(l.end) - BigInt(l.committed === "-1" ? "0" : l.committed))), 0);
