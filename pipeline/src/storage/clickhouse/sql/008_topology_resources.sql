-- What users add to the topology through the query API: nodes, edges, node rules and edge rules
-- (Skydive's /api/node, /api/edge, /api/noderule, /api/edgerule). The API's topology manager publishes
-- the elements they make on the topology topic, as origin api.<host>; this table is what survives it.
CREATE TABLE IF NOT EXISTS {db}.topology_resources {on_cluster}
(
    -- node, edge, noderule or edgerule.
    Kind LowCardinality(String),
    ID String,
    -- The resource as the API shows it (JSON).
    Body String CODEC(ZSTD(1)),
    CreateTime DateTime64(3),
    -- When it ends by itself (X-Resource-TTL); NULL: until deleted.
    Expires Nullable(DateTime64(3)),
    Version UInt64,
    Deleted UInt8
)
ENGINE = {engine}ReplacingMergeTree({global_replica_args}Version, Deleted)
ORDER BY (Kind, ID);
