// Opens a chDB data directory written by a (stopped) skystream process, through @clickhouse/client.
import { createClient, type ClickHouseClient } from "@clickhouse/client";
import { createChdbConnection } from "chdb/connection";

export function openChdb(path: string): ClickHouseClient {
  return createClient({ connection: createChdbConnection({ path }) } as Parameters<typeof createClient>[0]);
}

export async function queryRows<T>(client: ClickHouseClient, query: string): Promise<T[]> {
  return (await client.query({ query, format: "JSONEachRow" })).json<T>();
}
