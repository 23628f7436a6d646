-- Alerts (the query API's): their definitions, and every time one fired.
CREATE TABLE IF NOT EXISTS {db}.alerts {on_cluster}
(
    UUID String,
    Name String,
    Description String,
    -- A Gremlin query: the alert fires when its result is not empty (and not the same as when it last fired).
    Expression String,
    -- "graph" (evaluated as the topology changes) or "duration:<go duration>" (periodically).
    Trigger String,
    -- "" (WebSocket notification only) or an http(s) URL the firing is POSTed to.
    Action String,
    CreateTime DateTime64(3),
    Version UInt64,
    Deleted UInt8
)
ENGINE = {engine}ReplacingMergeTree({global_replica_args}Version, Deleted)
ORDER BY UUID;

CREATE TABLE IF NOT EXISTS {db}.alert_firings {on_cluster}
(
    Time DateTime64(3),
    UUID String,
    Name String,
    -- The expression's result that made it fire (JSON).
    ReasonData String CODEC(ZSTD(1)),
    Action String,
    -- The webhook's HTTP status, 0 without a webhook, -1 when it could not be reached.
    ActionStatus Int32
)
ENGINE = {engine}MergeTree{global_engine_args}
PARTITION BY toYYYYMM(Time)
ORDER BY (UUID, Time)
TTL toDateTime(Time) + toIntervalDay(90);
