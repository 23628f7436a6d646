// The flows table as the Gremlin engine's flow store: its columns (read once) and queries with bound
// parameters. Settings go in the query's own SETTINGS clause (the embedded engine's session keeps SET).
import type { FlowStore } from "../gremlin/flows.js";
import type { Storage } from "../storage/clickhouse/index.js";

export class ClickhouseFlowStore implements FlowStore {
  private cols?: Promise<Map<string, string>>;

  constructor(private readonly storage: Storage) {}

  get table(): string {
    return `${this.storage.database}.${this.storage.cluster ? "flows_all" : "flows"}`;
  }

  columns(): Promise<Map<string, string>> {
    this.cols ??= this.storage.client
      .query({
        query: "SELECT name, type FROM system.columns WHERE database = {db:String} AND table = 'flows' ORDER BY position",
        query_params: { db: this.storage.database },
        format: "JSONEachRow",
      })
      .then((r) => r.json<{ name: string; type: string }>())
      .then((rows) => new Map(rows.map((r) => [r.name, r.type])));
    this.cols.catch(() => (this.cols = undefined));
    return this.cols;
  }

  async query<T = Record<string, unknown>>(sql: string, params: Record<string, unknown>): Promise<T[]> {
    const r = await this.storage.client.query({
      query: `${sql} SETTINGS output_format_json_quote_64bit_integers = 0, max_execution_time = 30`,
      query_params: params,
      format: "JSONEachRow",
    });
    return r.json<T>();
  }
}
