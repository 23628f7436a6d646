-- On a cluster (clickhouse.cluster set) only. Flows and the flow matrix are sharded: each server holds its
-- shard's rows in the tables above, and the *_all tables read (and write) across every shard. The sinks
-- insert into flows_all in the foreground (the insert returns once every shard has its rows), with the
-- batch's deduplication token, which each shard's replicated table applies to its own part of the batch:
-- a repeated batch routes the same rows to the same shards (the sharding key is a function of the row),
-- so each part is dropped where it had landed. The matrix views run on each shard as its rows arrive.
CREATE TABLE IF NOT EXISTS {db}.flows_all {on_cluster} AS {db}.flows
ENGINE = Distributed({cluster}, {db}, flows, cityHash64(UUID));

CREATE TABLE IF NOT EXISTS {db}.flow_matrix_all {on_cluster} AS {db}.flow_matrix
ENGINE = Distributed({cluster}, {db}, flow_matrix);

CREATE TABLE IF NOT EXISTS {db}.flow_matrix_1h_all {on_cluster} AS {db}.flow_matrix_1h
ENGINE = Distributed({cluster}, {db}, flow_matrix_1h);
