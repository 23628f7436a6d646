import { Counter, Gauge, Histogram, type MetricsRegistry } from "@skystream/common";

export function sinkMetrics(registry: MetricsRegistry, sink: string) {
  const get = <T>(name: string, make: () => T): T => (registry.getSingleMetric(name) as T | undefined) ?? make();
  const registers = [registry];
  // A labelled counter's series appears at its first increment, which rate() cannot see (the first errors of
  // an outage would show as none): the sink's counters start at 0.
  const fromZero = <C extends { inc(v?: number): void }>(c: C): C => {
    c.inc(0);
    return c;
  };
  return {
    recordsIn: get(
      "skystream_sink_records_in_total",
      () => new Counter({ name: "skystream_sink_records_in_total", help: "Records read from Kafka", labelNames: ["sink", "topic"], registers }),
    ),
    rowsInserted: fromZero(
      get(
        "skystream_sink_rows_inserted_total",
        () => new Counter({ name: "skystream_sink_rows_inserted_total", help: "Rows acknowledged by ClickHouse", labelNames: ["sink"], registers }),
      ).labels({ sink }),
    ),
    insertErrors: fromZero(
      get(
        "skystream_sink_insert_errors_total",
        () => new Counter({ name: "skystream_sink_insert_errors_total", help: "Failed insert attempts (retried)", labelNames: ["sink"], registers }),
      ).labels({ sink }),
    ),
    batchRows: get(
      "skystream_sink_batch_rows",
      () =>
        new Histogram({
          name: "skystream_sink_batch_rows",
          help: "Rows per insert",
          labelNames: ["sink"],
          buckets: [100, 1000, 5000, 10_000, 25_000, 50_000, 100_000, 250_000],
          registers,
        }),
    ).labels({ sink }),
    insertSeconds: get(
      "skystream_sink_insert_duration_seconds",
      () =>
        new Histogram({
          name: "skystream_sink_insert_duration_seconds",
          help: "Time to insert one batch, retries included",
          labelNames: ["sink"],
          buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
          registers,
        }),
    ).labels({ sink }),
    buffered: get(
      "skystream_sink_buffered_rows",
      () => new Gauge({ name: "skystream_sink_buffered_rows", help: "Rows waiting for their insert", labelNames: ["sink"], registers }),
    ).labels({ sink }),
    lag: get(
      "skystream_consumer_lag_records",
      () =>
        new Gauge({
          name: "skystream_consumer_lag_records",
          help: "Records in Kafka not yet committed by the group",
          labelNames: ["sink", "topic"],
          registers,
        }),
    ),
    topologyLate: get(
      "skystream_enrichment_topology_late_total",
      () =>
        new Counter({
          name: "skystream_enrichment_topology_late_total",
          help: "Hosts whose topology had not caught up with their flows' time within enrichment.topology_wait (enriched anyway)",
          labelNames: ["sink"],
          registers,
        }),
    ).labels({ sink }),
    commitErrors: fromZero(
      get(
        "skystream_sink_commit_errors_total",
        () =>
          new Counter({
            name: "skystream_sink_commit_errors_total",
            help: "Failed offset commits (records will be read again)",
            labelNames: ["sink"],
            registers,
          }),
      ).labels({ sink }),
    ),
  };
}

export type SinkMetrics = ReturnType<typeof sinkMetrics>;
