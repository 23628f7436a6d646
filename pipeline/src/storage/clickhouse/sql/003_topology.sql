-- The topology with its whole history (Skydive's live + archive model, §11.1), written by the
-- clickhouse_topology sink from TopologyDeltas. One row per revision of a node or an edge:
--   topology_live     the current revision of every element (ReplacingMergeTree on Version; a deleted
--                     element's last row has Deleted = 1 and disappears under FINAL);
--   topology_archive  every closed revision, with the interval [ValidFrom, ValidTo) in which it was the
--                     element's state; a deleted element's last revision has DeletedAt = ValidTo;
--   topology_origins  per origin (agent.<host>, ...): its Kafka partition, the last delta applied, last
--                     heartbeat, retirement.
-- Views: topology_history (both tables, open revisions with ValidTo at the end of time), nodes/edges
-- (current), and the parameterized topology_at(t = ...) (the graph as it was at t).
-- Metadata is the element's metadata as a JSON object in Skydive's shape (Type/Name, RelationType inside).
CREATE TABLE IF NOT EXISTS {db}.topology_live {on_cluster}
(
    Kind Enum8('node' = 1, 'edge' = 2),
    ID String,
    Origin LowCardinality(String),
    Host LowCardinality(String),
    Type LowCardinality(String),
    Name String,
    Parent String,
    Child String,
    RelationType LowCardinality(String),
    Metadata String CODEC(ZSTD(1)),
    CreatedAt DateTime64(3),
    UpdatedAt DateTime64(3),
    DeletedAt Nullable(DateTime64(3)),
    Revision UInt64,
    ValidFrom DateTime64(3),
    -- Time and sequence of the delta that wrote the row (time << 20 | sequence): the newest wins.
    Version UInt64,
    Deleted UInt8
)
ENGINE = {engine}ReplacingMergeTree({global_replica_args}Version, Deleted)
ORDER BY (Kind, ID);

CREATE TABLE IF NOT EXISTS {db}.topology_archive {on_cluster}
(
    Kind Enum8('node' = 1, 'edge' = 2),
    ID String,
    Origin LowCardinality(String),
    Host LowCardinality(String),
    Type LowCardinality(String),
    Name String,
    Parent String,
    Child String,
    RelationType LowCardinality(String),
    Metadata String CODEC(ZSTD(1)),
    CreatedAt DateTime64(3),
    UpdatedAt DateTime64(3),
    DeletedAt Nullable(DateTime64(3)),
    Revision UInt64,
    ValidFrom DateTime64(3) CODEC(DoubleDelta, LZ4),
    ValidTo DateTime64(3) CODEC(DoubleDelta, LZ4),
    INDEX idx_valid_from ValidFrom TYPE minmax GRANULARITY 1,
    INDEX idx_valid_to ValidTo TYPE minmax GRANULARITY 1
)
-- A revision written twice (a replay after a crash) has the same key and collapses.
ENGINE = {engine}ReplacingMergeTree{global_engine_args}
PARTITION BY toYYYYMM(ValidTo)
ORDER BY (Kind, ID, ValidFrom);

CREATE TABLE IF NOT EXISTS {db}.topology_origins {on_cluster}
(
    Origin String,
    Host LowCardinality(String),
    Topic LowCardinality(String),
    Partition UInt32,
    -- Time and sequence of the last delta applied outside an open snapshot (replays stop there).
    LastTime DateTime64(3),
    LastSequence UInt64,
    -- Last message of any kind (heartbeats included), by the origin's clock.
    LastSeen DateTime64(3),
    Retired UInt8,
    RetiredAt Nullable(DateTime64(3)),
    Version UInt64
)
ENGINE = {engine}ReplacingMergeTree({global_replica_args}Version)
ORDER BY Origin;

CREATE VIEW IF NOT EXISTS {db}.topology_history {on_cluster} AS
SELECT Kind, ID, Origin, Host, Type, Name, Parent, Child, RelationType, Metadata, CreatedAt, UpdatedAt, DeletedAt, Revision, ValidFrom, ValidTo
FROM {db}.topology_archive
UNION ALL
SELECT Kind, ID, Origin, Host, Type, Name, Parent, Child, RelationType, Metadata, CreatedAt, UpdatedAt, DeletedAt, Revision, ValidFrom,
       toDateTime64('2299-12-31 23:59:59.999', 3) AS ValidTo
FROM {db}.topology_live FINAL;

CREATE VIEW IF NOT EXISTS {db}.nodes {on_cluster} AS
SELECT ID, Origin, Host, Type, Name, Metadata, CreatedAt, UpdatedAt, Revision, ValidFrom FROM {db}.topology_live FINAL WHERE Kind = 'node';

CREATE VIEW IF NOT EXISTS {db}.edges {on_cluster} AS
SELECT ID, Origin, Host, Parent, Child, RelationType, Metadata, CreatedAt, UpdatedAt, Revision, ValidFrom FROM {db}.topology_live FINAL WHERE Kind = 'edge';

-- SELECT * FROM skystream.topology_at(t = '2026-11-23 18:00:00.000'): every element as it was at t.
-- (The time predicate sits in each branch, so each table reads its other columns only for the rows it keeps.)
CREATE VIEW IF NOT EXISTS {db}.topology_at {on_cluster} AS
SELECT *
FROM
(
    SELECT Kind, ID, Origin, Host, Type, Name, Parent, Child, RelationType, Metadata, CreatedAt, UpdatedAt, DeletedAt, Revision, ValidFrom, ValidTo
    FROM {db}.topology_archive
    WHERE ValidFrom <= {t:DateTime64(3)} AND ValidTo > {t:DateTime64(3)}
    UNION ALL
    SELECT Kind, ID, Origin, Host, Type, Name, Parent, Child, RelationType, Metadata, CreatedAt, UpdatedAt, DeletedAt, Revision, ValidFrom,
           toDateTime64('2299-12-31 23:59:59.999', 3) AS ValidTo
    FROM {db}.topology_live FINAL
    WHERE ValidFrom <= {t:DateTime64(3)}
)
ORDER BY Kind, ID, ValidFrom DESC
LIMIT 1 BY Kind, ID;
