-- One row per flow update (what an agent publishes every update period), Skydive's field names.
-- Time is the end of the update period; LastUpdateMetric holds that period's volumes, Metric the totals.
CREATE TABLE IF NOT EXISTS {db}.flows {on_cluster}
(
    Time DateTime64(3) CODEC(DoubleDelta, LZ4),
    Host LowCardinality(String),
    NodeTID LowCardinality(String),
    CaptureID LowCardinality(String),
    CaptureType LowCardinality(String),
    UUID String CODEC(ZSTD(1)),
    TrackingID String CODEC(ZSTD(1)),
    L3TrackingID String CODEC(ZSTD(1)),
    ParentUUID String CODEC(ZSTD(1)),
    LayersPath LowCardinality(String),
    Application LowCardinality(String),
    "Link.Protocol" LowCardinality(String),
    "Link.A" String CODEC(ZSTD(1)),
    "Link.B" String CODEC(ZSTD(1)),
    "Link.ID" UInt32,
    "Network.Protocol" LowCardinality(String),
    "Network.A" IPv6 CODEC(ZSTD(1)),
    "Network.B" IPv6 CODEC(ZSTD(1)),
    "Network.ID" UInt32,
    "Transport.Protocol" LowCardinality(String),
    "Transport.A" UInt16,
    "Transport.B" UInt16,
    "ICMP.Type" LowCardinality(String),
    "ICMP.Code" UInt8,
    "ICMP.ID" UInt16,
    "Metric.ABPackets" UInt64 CODEC(T64, LZ4),
    "Metric.ABBytes" UInt64 CODEC(T64, LZ4),
    "Metric.BAPackets" UInt64 CODEC(T64, LZ4),
    "Metric.BABytes" UInt64 CODEC(T64, LZ4),
    "Metric.RTT" UInt64 CODEC(T64, LZ4),
    "LastUpdateMetric.ABPackets" UInt64 CODEC(T64, LZ4),
    "LastUpdateMetric.ABBytes" UInt64 CODEC(T64, LZ4),
    "LastUpdateMetric.BAPackets" UInt64 CODEC(T64, LZ4),
    "LastUpdateMetric.BABytes" UInt64 CODEC(T64, LZ4),
    "LastUpdateMetric.Start" DateTime64(3) CODEC(DoubleDelta, LZ4),
    "TCPMetric.ABSynStart" Int64 CODEC(T64, LZ4),
    "TCPMetric.BASynStart" Int64 CODEC(T64, LZ4),
    "TCPMetric.ABFinStart" Int64 CODEC(T64, LZ4),
    "TCPMetric.BAFinStart" Int64 CODEC(T64, LZ4),
    "TCPMetric.ABRstStart" Int64 CODEC(T64, LZ4),
    "TCPMetric.BARstStart" Int64 CODEC(T64, LZ4),
    FinishType LowCardinality(String),
    Start DateTime64(3) CODEC(DoubleDelta, LZ4),
    Last DateTime64(3) CODEC(DoubleDelta, LZ4),
    SamplingRate UInt32,
    "Exporter.Address" LowCardinality(String),
    "Exporter.InIfIndex" UInt32,
    "Exporter.OutIfIndex" UInt32,
    InsertedAt DateTime DEFAULT now() CODEC(DoubleDelta, LZ4),
    INDEX idx_tracking TrackingID TYPE bloom_filter(0.001) GRANULARITY 4,
    INDEX idx_net_a "Network.A" TYPE bloom_filter(0.001) GRANULARITY 4,
    INDEX idx_net_b "Network.B" TYPE bloom_filter(0.001) GRANULARITY 4
)
ENGINE = {engine}MergeTree{engine_args}
PARTITION BY toYYYYMMDD(Time)
PRIMARY KEY (toStartOfFiveMinutes(Time), Host, NodeTID)
ORDER BY (toStartOfFiveMinutes(Time), Host, NodeTID, TrackingID, Time)
TTL toDateTime(Time) + toIntervalSecond({flows_ttl_seconds})
SETTINGS ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000
