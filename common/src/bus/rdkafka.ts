// Bus over node-rdkafka (librdkafka): batching, compression and delivery in C threads.
import { createRequire } from "node:module";
import type * as RdKafka from "node-rdkafka";
import type { Logger } from "pino";
import type { KafkaConfig } from "./config.js";
import { readTlsFiles, type TlsClientConfig } from "../tls.js";
import type { Bus, BusMessage, Consumer, ConsumerHandlers, GroupLag, OutMessage, PartitionOffset, Producer, TopicSpec } from "./types.js";

// node-rdkafka is CommonJS with a native addon; load it lazily so kafkajs users never need the build.
const require = createRequire(import.meta.url);
let rdkafka: typeof RdKafka | undefined;
function lib(): typeof RdKafka {
  rdkafka ??= require("node-rdkafka") as typeof RdKafka;
  return rdkafka;
}

const ERR_QUEUE_FULL = -184;
const ERR_ASSIGN = -175;
const ERR_REVOKE = -174;

function headersOf(h: RdKafka.MessageHeader[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of h ?? []) for (const [k, v] of Object.entries(entry)) out[k] = Buffer.isBuffer(v) ? v.toString() : String(v);
  return out;
}

function promisify<T>(fn: (cb: (err: RdKafka.LibrdKafkaError | null | undefined, v: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
}

export class RdkafkaBus implements Bus {
  readonly kind = "rdkafka";
  private admin?: RdKafka.IAdminClient;

  constructor(
    private readonly cfg: KafkaConfig,
    private readonly log: Logger,
  ) {}

  private base(): Record<string, unknown> {
    return {
      "bootstrap.servers": this.cfg.brokers.join(","),
      "client.id": this.cfg.client_id,
      "socket.connection.setup.timeout.ms": this.cfg.connection_timeout,
      ...rdkafkaTls(this.cfg.tls),
    };
  }

  producer(): Producer {
    const K = lib();
    const p = new K.Producer(
      {
        ...this.base(),
        dr_cb: true,
        "enable.idempotence": true,
        "compression.codec": this.cfg.producer.compression,
        "linger.ms": this.cfg.producer.linger,
        "batch.num.messages": this.cfg.producer.batch_size,
        "queue.buffering.max.messages": this.cfg.producer.max_buffered,
        "queue.buffering.max.kbytes": 1024 * 1024,
      } as RdKafka.ProducerGlobalConfig,
      { "request.required.acks": -1 },
    );
    // Each send() gets a ticket; delivery reports count down the ticket of their message.
    interface Ticket {
      left: number;
      error?: Error;
      done: () => void;
    }
    p.on("delivery-report", (err, report) => {
      const t = report.opaque as Ticket;
      if (err && !t.error) t.error = new Error(err.message);
      if (--t.left === 0) t.done();
    });
    p.on("event.error", (err) => this.log.error({ err }, "rdkafka producer error"));
    const log = this.log;
    return {
      connect: () =>
        promisify<unknown>((cb) => p.connect({}, cb)).then(() => {
          p.setPollInterval(5);
        }),
      async send(topic: string, messages: OutMessage[]) {
        if (messages.length === 0) return;
        let resolveAll!: () => void;
        const all = new Promise<void>((r) => (resolveAll = r));
        const ticket: Ticket = { left: messages.length, done: resolveAll };
        for (const m of messages) {
          const headers = m.headers ? Object.entries(m.headers).map(([k, v]) => ({ [k]: v })) : undefined;
          for (;;) {
            try {
              p.produce(topic, null, m.value, m.key ?? null, Date.now(), ticket, headers);
              break;
            } catch (err) {
              if ((err as { code?: number }).code !== ERR_QUEUE_FULL) throw err;
              // Local queue full: let delivery reports drain it (this is the producer's backpressure).
              p.poll();
              await new Promise((r) => setTimeout(r, 5));
            }
          }
        }
        await all;
        if (ticket.error) {
          log.error({ err: ticket.error, topic }, "delivery failed");
          throw ticket.error;
        }
      },
      disconnect: async () => {
        await promisify<unknown>((cb) => p.flush(30_000, (e) => cb(e, undefined)));
        await promisify<unknown>((cb) => p.disconnect(cb));
      },
    };
  }

  consumer(groupId: string): Consumer {
    const K = lib();
    const log = this.log;
    let handlers: ConsumerHandlers | undefined;
    const c = new K.KafkaConsumer(
      {
        ...this.base(),
        "group.id": groupId,
        "enable.auto.commit": false,
        "session.timeout.ms": this.cfg.consumer.session_timeout,
        "max.partition.fetch.bytes": this.cfg.consumer.max_partition_fetch_bytes,
        rebalance_cb(this: RdKafka.KafkaConsumer, err: RdKafka.LibrdKafkaError, assignment: RdKafka.Assignment[]) {
          if (err.code === ERR_ASSIGN) this.assign(assignment);
          else if (err.code === ERR_REVOKE) {
            void handlers?.onRevoke?.(assignment.map((a) => ({ topic: a.topic, partition: a.partition })));
            this.unassign();
          }
        },
      } as RdKafka.ConsumerGlobalConfig,
      { "auto.offset.reset": "earliest" },
    );
    c.on("event.error", (err) => this.log.error({ err }, "rdkafka consumer error"));
    let stopped = false;
    return {
      connect: () => promisify<unknown>((cb) => c.connect({}, cb)).then(() => undefined),
      async subscribe(topics: string[]) {
        c.subscribe(topics);
      },
      async run(h: ConsumerHandlers) {
        handlers = h;
        c.setDefaultConsumeTimeout(100);
        const loop = async () => {
          while (!stopped) {
            let msgs: RdKafka.Message[];
            try {
              msgs = await promisify<RdKafka.Message[]>((cb) => c.consume(10_000, cb));
            } catch (err) {
              if (stopped) return;
              log.warn({ err }, "rdkafka consume failed; retrying");
              await new Promise((r) => setTimeout(r, 500));
              continue;
            }
            // Group by partition, keeping order within each.
            const byPart = new Map<string, BusMessage[]>();
            for (const m of msgs) {
              const key = `${m.topic}\u0000${m.partition}`;
              let list = byPart.get(key);
              if (!list) byPart.set(key, (list = []));
              list.push({
                topic: m.topic,
                partition: m.partition,
                offset: String(m.offset),
                key: m.key == null ? null : Buffer.isBuffer(m.key) ? m.key : Buffer.from(String(m.key)),
                value: m.value,
                headers: headersOf(m.headers),
                timestamp: m.timestamp ?? 0,
              });
            }
            for (const list of byPart.values()) await h.onBatch({ topic: list[0]!.topic, partition: list[0]!.partition, messages: list });
          }
        };
        void loop();
      },
      async commit(offsets: PartitionOffset[]) {
        if (offsets.length === 0) return;
        c.commitSync(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: Number(o.offset) })));
      },
      pause: () => c.pause(c.assignments()),
      resume: () => c.resume(c.assignments()),
      disconnect: async () => {
        stopped = true;
        await promisify<unknown>((cb) => c.disconnect(cb));
      },
    };
  }

  private adminClient(): RdKafka.IAdminClient {
    this.admin ??= lib().AdminClient.create(this.base() as RdKafka.GlobalConfig);
    return this.admin;
  }

  async ensureTopics(topics: TopicSpec[]): Promise<void> {
    const existing = new Set((await this.metadata()).topics.map((t) => t.name));
    for (const t of topics.filter((x) => !existing.has(x.topic))) {
      await promisify<unknown>((cb) =>
        this.adminClient().createTopic(
          { topic: t.topic, num_partitions: t.partitions, replication_factor: t.replicationFactor, config: t.config ?? {} },
          10_000,
          (e) => cb(e && e.code !== 36 ? e : null, undefined), // 36: TOPIC_ALREADY_EXISTS (raced another creator)
        ),
      );
      this.log.info({ topic: t.topic }, "created topic");
    }
  }

  private async metadata(): Promise<RdKafka.Metadata> {
    const p = new (lib().Producer)(this.base() as RdKafka.ProducerGlobalConfig);
    // One-shot clients: a broker that does not answer (or refuses us: TLS) fails within connection_timeout, not librdkafka's 30 s.
    await promisify<unknown>((cb) => p.connect({ timeout: this.cfg.connection_timeout }, cb));
    try {
      return await promisify<RdKafka.Metadata>((cb) => p.getMetadata({ timeout: 10_000 }, cb));
    } finally {
      await promisify<unknown>((cb) => p.disconnect(cb));
    }
  }

  async lag(groupId: string, topic: string): Promise<GroupLag[]> {
    const K = lib();
    const c = new K.KafkaConsumer({ ...this.base(), "group.id": groupId, "enable.auto.commit": false } as RdKafka.ConsumerGlobalConfig, {});
    await promisify<unknown>((cb) => c.connect({ timeout: this.cfg.connection_timeout }, cb));
    try {
      const md = await promisify<RdKafka.Metadata>((cb) => c.getMetadata({ topic, timeout: 10_000 }, cb));
      const parts = md.topics.find((t) => t.name === topic)?.partitions.map((p) => p.id) ?? [];
      const committed = await promisify<RdKafka.TopicPartitionOffset[]>((cb) =>
        c.committed(
          parts.map((partition) => ({ topic, partition })),
          10_000,
          cb,
        ),
      );
      const out: GroupLag[] = [];
      for (const partition of parts) {
        const w = await promisify<RdKafka.WatermarkOffsets>((cb) => c.queryWatermarkOffsets(topic, partition, 10_000, cb));
        const co = committed.find((x) => x.partition === partition)?.offset;
        out.push({ topic, partition, end: String(w.highOffset), committed: co === undefined || co < 0 ? "-1" : String(co) });
      }
      return out;
    } finally {
      await promisify<unknown>((cb) => c.disconnect(cb));
    }
  }

  async healthcheck(): Promise<void> {
    await this.metadata();
  }

  async close(): Promise<void> {
    this.admin?.disconnect();
    this.admin = undefined;
  }
}

/** librdkafka's SSL properties from the TLS config (it reads the PEM files itself). */
function rdkafkaTls(tls: TlsClientConfig): Record<string, unknown> {
  if (!tls.enabled) return {};
  readTlsFiles(tls, "kafka"); // the same clear error as kafkajs when a file is missing
  return {
    "security.protocol": "ssl",
    ...(tls.ca ? { "ssl.ca.location": tls.ca } : {}),
    ...(tls.cert ? { "ssl.certificate.location": tls.cert, "ssl.key.location": tls.key } : {}),
    "enable.ssl.certificate.verification": tls.verify,
    // librdkafka checks the broker's name only when asked; the name is the broker's host unless server_name says otherwise.
    "ssl.endpoint.identification.algorithm": tls.verify ? "https" : "none",
  };
}
