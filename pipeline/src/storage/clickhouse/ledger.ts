// The sink ledger ({db}.sink_ledger): per sink and Kafka partition, the offset range last handed to an
// insert. Written before the insert; read by whoever owns the partition next, to repeat that exact batch.
import type { Storage } from "./storage.js";

export interface LedgerRange {
  topic: string;
  partition: number;
  first: bigint;
  last: bigint;
  epoch: number;
}

export class SinkLedger {
  private version = BigInt(Date.now()) * 1000n;

  constructor(
    private readonly storage: Storage,
    private readonly sink: string,
  ) {}

  /** The last range recorded for a partition, if any. */
  async last(topic: string, partition: number): Promise<LedgerRange | undefined> {
    const rows = await (
      await this.storage.client.query({
        query: `SELECT argMax(First, Version) AS first, argMax(Last, Version) AS last, argMax(Epoch, Version) AS epoch
                FROM ${this.storage.database}.sink_ledger
                WHERE Sink = {sink:String} AND Topic = {topic:String} AND Partition = {partition:UInt32}
                HAVING count() > 0`,
        query_params: { sink: this.sink, topic, partition },
        format: "JSONEachRow",
      })
    ).json<{ first: string; last: string; epoch: number }>();
    const r = rows[0];
    return r ? { topic, partition, first: BigInt(r.first), last: BigInt(r.last), epoch: Number(r.epoch) } : undefined;
  }

  /** Records the ranges about to be inserted (one insert for all of them). */
  async record(ranges: LedgerRange[]): Promise<void> {
    if (ranges.length === 0) return;
    const base = (this.version = maxBig(this.version + 1n, BigInt(Date.now()) * 1000n));
    this.version = base + BigInt(ranges.length);
    await this.storage.client.insert({
      table: `${this.storage.database}.sink_ledger`,
      values: ranges.map((r, i) => ({
        Sink: this.sink,
        Topic: r.topic,
        Partition: r.partition,
        First: r.first.toString(),
        Last: r.last.toString(),
        Epoch: r.epoch,
        Version: (base + BigInt(i)).toString(),
      })),
      format: "JSONEachRow",
      columns: ["Sink", "Topic", "Partition", "First", "Last", "Epoch", "Version"],
    });
  }
}

const maxBig = (a: bigint, b: bigint) => (a > b ? a : b);
