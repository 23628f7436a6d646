// What the synthetic agent's flows must add up to in ClickHouse, and what they do add up to.
import type { ClickHouseClient } from "@clickhouse/client";

/** Sums of the i-th synthetic flow's LastUpdateMetric volumes for i < n (schemas/src/testing/flows.ts). */
export function expectedSums(n: number) {
  let abp = 0,
    abb = 0,
    bap = 0,
    bab = 0;
  for (let i = 0; i < n; i++) {
    const a = 1 + (i % 7),
      b = i % 5;
    abp += a;
    abb += a * 100;
    bap += b;
    bab += b * 1000;
  }
  return { abp, abb, bap, bab };
}

export interface FlowTotals {
  /** Rows of the host. */
  rows: number;
  /** Distinct flows (UUIDs) of the host. */
  flows: number;
  /** Sums over distinct flows. */
  sums: { abp: number; abb: number; bap: number; bab: number };
}

/** Rows, distinct UUIDs and the sums of one value per UUID, for one host's flows in skystream.flows. */
export async function flowTotals(client: ClickHouseClient, host: string): Promise<FlowTotals> {
  const [r] = await (
    await client.query({
      query: `SELECT (SELECT count() FROM skystream.flows WHERE Host = {h:String}) AS rows, count() AS flows,
                     sum(abp) AS abp, sum(abb) AS abb, sum(bap) AS bap, sum(bab) AS bab
              FROM (SELECT UUID, any("LastUpdateMetric.ABPackets") abp, any("LastUpdateMetric.ABBytes") abb,
                           any("LastUpdateMetric.BAPackets") bap, any("LastUpdateMetric.BABytes") bab
                    FROM skystream.flows WHERE Host = {h:String} GROUP BY UUID)`,
      query_params: { h: host },
      format: "JSONEachRow",
    })
  ).json<Record<string, string>>();
  return {
    rows: Number(r!.rows),
    flows: Number(r!.flows),
    sums: { abp: Number(r!.abp), abb: Number(r!.abb), bap: Number(r!.bap), bab: Number(r!.bab) },
  };
}
