-- What the enrichment adds to a flow (FlowRecord.Enrichment, filled as of the flow's time): the capture
-- node, the node, namespace, process and container at each end, and which end is the server.
ALTER TABLE {db}.flows {on_cluster}
    ADD COLUMN IF NOT EXISTS "CaptureNode.ID" String CODEC(ZSTD(1)) AFTER "Exporter.OutIfIndex",
    ADD COLUMN IF NOT EXISTS "CaptureNode.Name" LowCardinality(String) AFTER "CaptureNode.ID",
    ADD COLUMN IF NOT EXISTS "CaptureNode.Type" LowCardinality(String) AFTER "CaptureNode.Name",
    ADD COLUMN IF NOT EXISTS "A.Node.ID" String CODEC(ZSTD(1)) AFTER "CaptureNode.Type",
    ADD COLUMN IF NOT EXISTS "A.Node.Name" LowCardinality(String) AFTER "A.Node.ID",
    ADD COLUMN IF NOT EXISTS "A.Node.Type" LowCardinality(String) AFTER "A.Node.Name",
    ADD COLUMN IF NOT EXISTS "A.Host" LowCardinality(String) AFTER "A.Node.Type",
    ADD COLUMN IF NOT EXISTS "A.Netns" LowCardinality(String) AFTER "A.Host",
    ADD COLUMN IF NOT EXISTS "A.Process.Pid" UInt32 AFTER "A.Netns",
    ADD COLUMN IF NOT EXISTS "A.Process.Name" LowCardinality(String) AFTER "A.Process.Pid",
    ADD COLUMN IF NOT EXISTS "A.Process.Process" LowCardinality(String) AFTER "A.Process.Name",
    ADD COLUMN IF NOT EXISTS "A.Process.Cmdline" String CODEC(ZSTD(1)) AFTER "A.Process.Process",
    ADD COLUMN IF NOT EXISTS "A.Container" LowCardinality(String) AFTER "A.Process.Cmdline",
    ADD COLUMN IF NOT EXISTS "B.Node.ID" String CODEC(ZSTD(1)) AFTER "A.Container",
    ADD COLUMN IF NOT EXISTS "B.Node.Name" LowCardinality(String) AFTER "B.Node.ID",
    ADD COLUMN IF NOT EXISTS "B.Node.Type" LowCardinality(String) AFTER "B.Node.Name",
    ADD COLUMN IF NOT EXISTS "B.Host" LowCardinality(String) AFTER "B.Node.Type",
    ADD COLUMN IF NOT EXISTS "B.Netns" LowCardinality(String) AFTER "B.Host",
    ADD COLUMN IF NOT EXISTS "B.Process.Pid" UInt32 AFTER "B.Netns",
    ADD COLUMN IF NOT EXISTS "B.Process.Name" LowCardinality(String) AFTER "B.Process.Pid",
    ADD COLUMN IF NOT EXISTS "B.Process.Process" LowCardinality(String) AFTER "B.Process.Name",
    ADD COLUMN IF NOT EXISTS "B.Process.Cmdline" String CODEC(ZSTD(1)) AFTER "B.Process.Process",
    ADD COLUMN IF NOT EXISTS "B.Container" LowCardinality(String) AFTER "B.Process.Cmdline",
    ADD COLUMN IF NOT EXISTS Server Enum8('UNKNOWN' = 0, 'A' = 1, 'B' = 2) AFTER "B.Container";

-- The flow matrix: who talks to whom (skydive-flow-matrix's columns) with volumes per 5 minutes. Filled
-- from flows whose server end is known; client -> server and server -> client volumes apart; Flows
-- counts the flows that started in the bucket (their first update). Addresses are IPv6 as in flows
-- (IPv4 mapped: compare with '198.18.0.1' directly; show with toString and strip '::ffff:'). Volumes and flows are as captured:
-- a conversation captured at two points (both ends of a veth, two hosts) counts at each.
CREATE TABLE IF NOT EXISTS {db}.flow_matrix {on_cluster}
(
    Bucket DateTime,
    Protocol LowCardinality(String),
    Server LowCardinality(String),
    ServerIP IPv6,
    Port UInt16,
    ServerProc LowCardinality(String),
    ServerProcName LowCardinality(String),
    ServerNetns LowCardinality(String),
    Client LowCardinality(String),
    ClientIP IPv6,
    ClientProc LowCardinality(String),
    ClientProcName LowCardinality(String),
    ClientNetns LowCardinality(String),
    ClientToServerBytes SimpleAggregateFunction(sum, UInt64),
    ClientToServerPackets SimpleAggregateFunction(sum, UInt64),
    ServerToClientBytes SimpleAggregateFunction(sum, UInt64),
    ServerToClientPackets SimpleAggregateFunction(sum, UInt64),
    Flows SimpleAggregateFunction(sum, UInt64),
    FirstSeen SimpleAggregateFunction(min, DateTime64(3)),
    LastSeen SimpleAggregateFunction(max, DateTime64(3))
)
ENGINE = {engine}AggregatingMergeTree{engine_args}
PARTITION BY toYYYYMM(Bucket)
ORDER BY (Bucket, Protocol, Server, Port, ServerProcName, Client, ClientProcName, ServerIP, ClientIP, ServerProc, ClientProc, ServerNetns, ClientNetns)
TTL Bucket + toIntervalSecond({flows_ttl_seconds});

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.flow_matrix_mv {on_cluster} TO {db}.flow_matrix AS
SELECT
    toStartOfFiveMinutes(Time) AS Bucket,
    "Transport.Protocol" AS Protocol,
    if(Side = 'B', "B.Host", "A.Host") AS Server,
    if(Side = 'B', "Network.B", "Network.A") AS ServerIP,
    if(Side = 'B', "Transport.B", "Transport.A") AS Port,
    if(Side = 'B', "B.Process.Process", "A.Process.Process") AS ServerProc,
    if(Side = 'B', "B.Process.Name", "A.Process.Name") AS ServerProcName,
    if(Side = 'B', "B.Netns", "A.Netns") AS ServerNetns,
    if(Side = 'B', "A.Host", "B.Host") AS Client,
    if(Side = 'B', "Network.A", "Network.B") AS ClientIP,
    if(Side = 'B', "A.Process.Process", "B.Process.Process") AS ClientProc,
    if(Side = 'B', "A.Process.Name", "B.Process.Name") AS ClientProcName,
    if(Side = 'B', "A.Netns", "B.Netns") AS ClientNetns,
    sum(if(Side = 'B', "LastUpdateMetric.ABBytes", "LastUpdateMetric.BABytes")) AS ClientToServerBytes,
    sum(if(Side = 'B', "LastUpdateMetric.ABPackets", "LastUpdateMetric.BAPackets")) AS ClientToServerPackets,
    sum(if(Side = 'B', "LastUpdateMetric.BABytes", "LastUpdateMetric.ABBytes")) AS ServerToClientBytes,
    sum(if(Side = 'B', "LastUpdateMetric.BAPackets", "LastUpdateMetric.ABPackets")) AS ServerToClientPackets,
    toUInt64(countIf("LastUpdateMetric.Start" = Start)) AS Flows,
    min(Start) AS FirstSeen,
    max(Last) AS LastSeen
-- (Side: the flows' Server column, which the Server alias below would shadow.)
FROM (SELECT *, Server AS Side FROM {db}.flows WHERE Server != 'UNKNOWN' AND "Transport.Protocol" != '')
GROUP BY Bucket, Protocol, Server, ServerIP, Port, ServerProc, ServerProcName, ServerNetns, Client, ClientIP, ClientProc, ClientProcName, ClientNetns;

-- The same matrix per hour, rolled up from flow_matrix as it is written: ranges of days read this one.
CREATE TABLE IF NOT EXISTS {db}.flow_matrix_1h {on_cluster} AS {db}.flow_matrix
ENGINE = {engine}AggregatingMergeTree{engine_args}
PARTITION BY toYYYYMM(Bucket)
ORDER BY (Bucket, Protocol, Server, Port, ServerProcName, Client, ClientProcName, ServerIP, ClientIP, ServerProc, ClientProc, ServerNetns, ClientNetns)
TTL Bucket + toIntervalSecond({flows_ttl_seconds});

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.flow_matrix_1h_mv {on_cluster} TO {db}.flow_matrix_1h AS
SELECT
    toStartOfHour(Bucket) AS Bucket,
    Protocol, Server, ServerIP, Port, ServerProc, ServerProcName, ServerNetns, Client, ClientIP, ClientProc, ClientProcName, ClientNetns,
    sum(ClientToServerBytes) AS ClientToServerBytes,
    sum(ClientToServerPackets) AS ClientToServerPackets,
    sum(ServerToClientBytes) AS ServerToClientBytes,
    sum(ServerToClientPackets) AS ServerToClientPackets,
    sum(Flows) AS Flows,
    min(FirstSeen) AS FirstSeen,
    max(LastSeen) AS LastSeen
FROM {db}.flow_matrix
GROUP BY Bucket, Protocol, Server, ServerIP, Port, ServerProc, ServerProcName, ServerNetns, Client, ClientIP, ClientProc, ClientProcName, ClientNetns;
