-- FlowRecord (Avro) -> flows. The payload is read with the structure below: a null layer arrives as a
-- tuple of defaults, so an empty address means "no such layer". Unknown Avro fields (newer minor
-- versions of the schema) are skipped by name.
INSERT INTO {db}.flows
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
    now()
