-- The offset range each sink is about to insert, per Kafka partition, written before the insert. After a
-- crash (or a rebalance) the next owner of the partition cuts its first batch at exactly that range, so
-- the insert repeats with the same deduplication token and ClickHouse drops it if it had landed.
CREATE TABLE IF NOT EXISTS {db}.sink_ledger {on_cluster}
(
    Sink LowCardinality(String),
    Topic LowCardinality(String),
    Partition UInt32,
    First UInt64,
    Last UInt64,
    -- Bumped when a partition's offsets go back below the recorded range (a topic deleted and created
    -- again): its batches get new deduplication tokens instead of colliding with the old ones.
    Epoch UInt32,
    Version UInt64,
    Time DateTime64(3) DEFAULT now64(3)
)
ENGINE = {engine}ReplacingMergeTree{global_engine_args}
ORDER BY (Sink, Topic, Partition);
