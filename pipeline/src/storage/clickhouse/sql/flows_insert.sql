-- FlowRecord (Avro) -> flows. The payload is read with the structure below: a null layer arrives as a
-- tuple of defaults, so an empty address means "no such layer". Unknown Avro fields (newer minor
-- versions of the schema) are skipped by name.
INSERT INTO {db}.flows (
    Time, Host, NodeTID, CaptureID, CaptureType,
    UUID, TrackingID, L3TrackingID, ParentUUID, LayersPath, Application,
    "Link.Protocol", "Link.A", "Link.B", "Link.ID",
    "Network.Protocol", "Network.A", "Network.B", "Network.ID",
    "Transport.Protocol", "Transport.A", "Transport.B",
    "ICMP.Type", "ICMP.Code", "ICMP.ID",
    "Metric.ABPackets", "Metric.ABBytes", "Metric.BAPackets", "Metric.BABytes", "Metric.RTT",
    "LastUpdateMetric.ABPackets", "LastUpdateMetric.ABBytes", "LastUpdateMetric.BAPackets", "LastUpdateMetric.BABytes",
    "LastUpdateMetric.Start",
    "TCPMetric.ABSynStart", "TCPMetric.BASynStart", "TCPMetric.ABFinStart", "TCPMetric.BAFinStart", "TCPMetric.ABRstStart", "TCPMetric.BARstStart",
    FinishType, Start, Last, SamplingRate,
    "Exporter.Address", "Exporter.InIfIndex", "Exporter.OutIfIndex",
    "CaptureNode.ID", "CaptureNode.Name", "CaptureNode.Type",
    "A.Node.ID", "A.Node.Name", "A.Node.Type", "A.Host", "A.Netns", "A.Process.Pid", "A.Process.Name", "A.Process.Process", "A.Process.Cmdline", "A.Container",
    "B.Node.ID", "B.Node.Name", "B.Node.Type", "B.Host", "B.Netns", "B.Process.Pid", "B.Process.Name", "B.Process.Process", "B.Process.Cmdline", "B.Container",
    Server,
    InsertedAt
)
SELECT
    fromUnixTimestamp64Milli(if(LastUpdateMetric.Last > 0, LastUpdateMetric.Last, Last)) AS Time,
    Host, NodeTID, CaptureID, CaptureType,
    UUID, TrackingID, L3TrackingID, ParentUUID, LayersPath, Application,
    if(Link.A = '', '', Link.Protocol), Link.A, Link.B, toUInt32(Link.ID),
    if(Network.A = '', '', Network.Protocol), toIPv6OrDefault(Network.A), toIPv6OrDefault(Network.B), toUInt32(Network.ID),
    if(Transport.A = 0 AND Transport.B = 0, '', Transport.Protocol), toUInt16(Transport.A), toUInt16(Transport.B),
    if(ICMP.Type = 'UNKNOWN' AND ICMP.Code = 0, '', ICMP.Type), toUInt8(ICMP.Code), toUInt16(ICMP.ID),
    Metric.ABPackets, Metric.ABBytes, Metric.BAPackets, Metric.BABytes, Metric.RTT,
    LastUpdateMetric.ABPackets, LastUpdateMetric.ABBytes, LastUpdateMetric.BAPackets, LastUpdateMetric.BABytes,
    fromUnixTimestamp64Milli(LastUpdateMetric.Start),
    TCPMetric.ABSynStart, TCPMetric.BASynStart, TCPMetric.ABFinStart, TCPMetric.BAFinStart, TCPMetric.ABRstStart, TCPMetric.BARstStart,
    FinishType, fromUnixTimestamp64Milli(Start), fromUnixTimestamp64Milli(Last), toUInt32(SamplingRate),
    Exporter.Address, toUInt32(Exporter.InIfIndex), toUInt32(Exporter.OutIfIndex),
    Enrichment.CaptureNode.ID, Enrichment.CaptureNode.Name, Enrichment.CaptureNode.Type,
    Enrichment.A.Node.ID, Enrichment.A.Node.Name, Enrichment.A.Node.Type, Enrichment.A.Node.Host, Enrichment.A.Netns,
    toUInt32(Enrichment.A.Process.Pid), Enrichment.A.Process.Name, Enrichment.A.Process.Process, Enrichment.A.Process.Cmdline, Enrichment.A.Container,
    Enrichment.B.Node.ID, Enrichment.B.Node.Name, Enrichment.B.Node.Type, Enrichment.B.Node.Host, Enrichment.B.Netns,
    toUInt32(Enrichment.B.Process.Pid), Enrichment.B.Process.Name, Enrichment.B.Process.Process, Enrichment.B.Process.Cmdline, Enrichment.B.Container,
    if(Enrichment.Server IN ('A', 'B'), Enrichment.Server, 'UNKNOWN'),
    now()
