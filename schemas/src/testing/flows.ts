// Deterministic synthetic flow records, shared by tests, the synthetic flow probe and benchmarks.
import type { FlowRecord } from "../types.generated.js";

const hex16 = (n: number) => n.toString(16).padStart(16, "0");

/** The i-th synthetic flow: stable ids and addresses from i, metrics derived from i so sums are checkable. */
export function syntheticFlow(i: number, now: number, host = "host-0", conversations = 50_000): FlowRecord {
  const conv = i % conversations;
  const abPackets = 1 + (i % 7);
  const baPackets = i % 5;
  return {
    UUID: hex16(i * 2654435761 + 1),
    TrackingID: hex16(conv * 40503 + 7),
    L3TrackingID: hex16(conv * 40503 + 11),
    ParentUUID: "",
    LayersPath: "Ethernet/IPv4/TCP",
    Application: "TCP",
    Link: { Protocol: "ETHERNET", A: "02:00:00:00:00:01", B: "02:00:00:00:00:02", ID: 0 },
    Network: { Protocol: "IPV4", A: `198.18.${(conv >> 8) & 255}.${conv & 255}`, B: `198.19.0.${conv % 200}`, ID: 0 },
    Transport: { Protocol: "TCP", A: 32768 + (conv % 28000), B: 443, ID: 0 },
    ICMP: null,
    Metric: { ABPackets: abPackets, ABBytes: abPackets * 100, BAPackets: baPackets, BABytes: baPackets * 1000, Start: now - 60_000, Last: now, RTT: 120_000 },
    LastUpdateMetric: { ABPackets: abPackets, ABBytes: abPackets * 100, BAPackets: baPackets, BABytes: baPackets * 1000, Start: now - 1000, Last: now, RTT: 0 },
    TCPMetric: null,
    IPMetric: null,
    FinishType: "NOT_FINISHED",
    Start: now - 60_000,
    Last: now,
    NodeTID: `tid-${i % 16}`,
    CaptureID: "",
    CaptureType: "synthetic",
    Host: host,
    SamplingRate: 1,
    Exporter: null,
    Enrichment: null,
  };
}
