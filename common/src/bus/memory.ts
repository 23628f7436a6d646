// In-process bus for the all-in-one mode: same contract as Kafka (partitions, offsets, groups,
// commit after ack), no broker. Messages below every group's committed offset are dropped.
import { partitionOf } from "./murmur2.js";
import type { Bus, BusMessage, Consumer, ConsumerHandlers, GroupLag, OutMessage, PartitionOffset, Producer, TopicSpec } from "./types.js";

interface Partition {
  /** Offset of messages[0]. */
  base: number;
  messages: BusMessage[];
}

interface Topic {
  partitions: Partition[];
  /** group -> committed offset per partition */
  committed: Map<string, number[]>;
  waiters: Set<() => void>;
  /** Producers waiting for room. */
  drained: Set<() => void>;
}

export class MemoryBus implements Bus {
  readonly kind = "memory";
  private readonly topics = new Map<string, Topic>();
  private roundRobin = 0;

  constructor(
    private readonly defaultPartitions = 1,
    /**
     * Most messages a partition holds. With a consumer group, a producer beyond it waits until the group
     * commits (backpressure, nothing lost); with none, the oldest messages go (Kafka's retention, in effect).
     */
    private readonly maxPerPartition = 50_000,
  ) {}

  private topic(name: string, partitions = this.defaultPartitions): Topic {
    let t = this.topics.get(name);
    if (!t) {
      t = { partitions: Array.from({ length: partitions }, () => ({ base: 0, messages: [] })), committed: new Map(), waiters: new Set(), drained: new Set() };
      this.topics.set(name, t);
    }
    return t;
  }

  producer(): Producer {
    return {
      connect: async () => {},
      send: async (topicName: string, messages: OutMessage[]) => {
        const t = this.topic(topicName);
        const now = Date.now();
        for (const m of messages) {
          const p = m.key == null ? this.roundRobin++ % t.partitions.length : partitionOf(m.key, t.partitions.length);
          const part = t.partitions[p]!;
          while (t.committed.size > 0 && part.messages.length >= this.maxPerPartition) {
            await new Promise<void>((r) => t.drained.add(r));
          }
          part.messages.push({
            topic: topicName,
            partition: p,
            offset: String(part.base + part.messages.length),
            key: m.key == null ? null : Buffer.from(m.key),
            value: m.value,
            headers: m.headers ?? {},
            timestamp: now,
          });
          if (t.committed.size === 0 && part.messages.length > this.maxPerPartition) {
            const drop = part.messages.length - this.maxPerPartition;
            part.messages.splice(0, drop);
            part.base += drop;
          }
        }
        for (const w of t.waiters) w();
      },
      disconnect: async () => {},
    };
  }

  consumer(groupId: string): Consumer {
    let topics: string[] = [];
    let paused = false;
    let stopped = false;
    let wake: (() => void) | undefined;
    const position = new Map<string, number[]>();
    return {
      connect: async () => {},
      subscribe: async (names: string[]) => {
        topics = names;
        for (const n of names) {
          const t = this.topic(n);
          const committed = t.committed.get(groupId) ?? t.partitions.map((p) => p.base);
          t.committed.set(groupId, committed);
          position.set(n, [...committed]);
        }
      },
      run: async (handlers: ConsumerHandlers) => {
        const loop = async () => {
          while (!stopped) {
            let delivered = false;
            if (!paused) {
              for (const n of topics) {
                const t = this.topic(n);
                const pos = position.get(n)!;
                for (let p = 0; p < t.partitions.length; p++) {
                  const part = t.partitions[p]!;
                  const from = Math.max(pos[p]!, part.base) - part.base;
                  if (from >= part.messages.length) continue;
                  const messages = part.messages.slice(from, from + 10_000);
                  pos[p] = part.base + from + messages.length;
                  delivered = true;
                  await handlers.onBatch({ topic: n, partition: p, messages });
                }
              }
            }
            if (!delivered && !stopped) {
              await new Promise<void>((resolve) => {
                const done = () => {
                  for (const n of topics) this.topic(n).waiters.delete(done);
                  clearTimeout(timer);
                  resolve();
                };
                const timer = setTimeout(done, 200);
                wake = done;
                for (const n of topics) this.topic(n).waiters.add(done);
              });
            }
          }
        };
        void loop();
      },
      commit: async (offsets: PartitionOffset[]) => {
        for (const o of offsets) {
          const t = this.topic(o.topic);
          const c = t.committed.get(groupId)!;
          c[o.partition] = Number(o.offset);
          this.trim(t, o.partition);
        }
      },
      pause: () => {
        paused = true;
      },
      resume: () => {
        paused = false;
        wake?.();
      },
      disconnect: async () => {
        stopped = true;
        wake?.();
      },
    };
  }

  private trim(t: Topic, p: number): void {
    const part = t.partitions[p]!;
    let min = Infinity;
    for (const c of t.committed.values()) min = Math.min(min, c[p]!);
    const drop = Math.min(min - part.base, part.messages.length);
    if (drop > 0) {
      part.messages.splice(0, drop);
      part.base += drop;
      for (const r of t.drained) r();
      t.drained.clear();
    }
  }

  async ensureTopics(specs: TopicSpec[]): Promise<void> {
    for (const s of specs) this.topic(s.topic, s.partitions);
  }

  async lag(groupId: string, topicName: string): Promise<GroupLag[]> {
    const t = this.topic(topicName);
    const c = t.committed.get(groupId);
    return t.partitions.map((p, i) => ({
      topic: topicName,
      partition: i,
      end: String(p.base + p.messages.length),
      committed: c ? String(c[i]) : "-1",
    }));
  }

  async healthcheck(): Promise<void> {}
  async close(): Promise<void> {}
}
