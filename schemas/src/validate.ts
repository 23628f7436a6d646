// Semantic checks on a decoded FlowRecord, beyond what Avro decoding guarantees. A record that fails
// goes to the dead-letter topic with the reason, like one that does not decode.
import type { FlowRecord } from "./types.generated.js";

/** Earliest and latest times accepted (ms): what ClickHouse DateTime64(3) can hold and sane clocks give. */
const MIN_TIME = Date.UTC(2000, 0, 1);
const MAX_TIME = Date.UTC(2100, 0, 1);

export type FlowInvalid = "missing_uuid" | "missing_host" | "bad_time" | "negative_metric";

export function validateFlow(f: FlowRecord): FlowInvalid | undefined {
  if (!f.UUID) return "missing_uuid";
  if (!f.Host) return "missing_host";
  if (!(f.Start >= MIN_TIME && f.Last <= MAX_TIME && f.Start <= f.Last)) return "bad_time";
  const m = f.Metric;
  if (m.ABPackets < 0 || m.ABBytes < 0 || m.BAPackets < 0 || m.BABytes < 0) return "negative_metric";
  const u = f.LastUpdateMetric;
  if (u && (u.ABPackets < 0 || u.ABBytes < 0 || u.BAPackets < 0 || u.BABytes < 0)) return "negative_metric";
  return undefined;
}
