// What the sFlow collector does with each datagram, socket aside (so tests and benchmarks feed it bytes):
// - counts lost datagrams from each exporter's sequence numbers (agent address + sub-agent);
// - turns flow samples into packets (the sampled header through the packet decoder, or the sampled
//   IPv4/IPv6 record when there is no header) counted into a flow table per exporter data source, scaled
//   by the sampling rate (both directions of a conversation meet in one flow, as in Skydive; each flow keeps
//   the input and output ifIndex of its first sample);
// - puts counter samples (generic and Ethernet interface counters) on the interface node of the agent's
//   graph they describe, as the node's `SFlow` metadata.
import { Counter, sharedMetric, type MetricsRegistry } from "@skystream/common";
import type { FlowRecord } from "@skystream/schemas";
import type { FlowTableConfig } from "../../../flow/config.js";
import { LINKTYPE } from "../../../flow/packet.js";
import { undecodableCounter } from "../../../flow/source.js";
import { FlowTable } from "../../../flow/table.js";
import type { Graph } from "../../../graph/graph.js";
import { SflowDecodeError, decodeSflow, type SflowDatagram, type SflowSample } from "./decode.js";

export interface SflowCounters {
  datagrams: Counter<"probe">;
  lost: Counter<"probe" | "exporter">;
  samples: Counter<"probe" | "kind">;
  invalid: Counter<"probe" | "reason">;
}

export function sflowCounters(registry: MetricsRegistry): SflowCounters {
  const counter = <L extends string>(name: string, help: string, labelNames: L[]) =>
    sharedMetric(registry, name, () => new Counter<L>({ name, help, labelNames, registers: [registry] }));
  return {
    datagrams: counter("skystream_agent_sflow_datagrams_total", "sFlow datagrams received", ["probe"]),
    lost: counter("skystream_agent_sflow_datagrams_lost_total", "sFlow datagrams missing from an exporter's sequence numbers", ["probe", "exporter"]),
    samples: counter("skystream_agent_sflow_samples_total", "sFlow samples decoded, by kind (flow, counters, discard, unknown)", ["probe", "kind"]),
    invalid: undecodableCounter(registry),
  };
}

export interface SflowCollectorOptions {
  probe: string;
  hostId: string;
  table: FlowTableConfig;
  graph: Graph;
  counters: SflowCounters;
  /** A capture on demand: its id, and the node every flow is stamped with (an OVS bridge). */
  captureID?: string;
  nodeTID?: string;
  /** A datagram that does not decode: the bytes and why (the probe dead-letters them). */
  onInvalid?: (datagram: Uint8Array, reason: string, error: string) => void;
}

interface ExporterState {
  sequence: number;
  /** Flow tables by data source (class × 2^32 + index). */
  tables: Map<number, FlowTable>;
}

const HEADER_ETHERNET = 1;
const HEADER_IPV4 = 11;
const HEADER_IPV6 = 12;

export class SflowCollector {
  private readonly exporters = new Map<string, ExporterState>();
  private readonly tables: FlowTable[] = [];
  /** Samples not yet added to the Prometheus counter (added in advance(): a counter call per sample costs too much). */
  private readonly pendingSamples = { flow: 0, counters: 0, discard: 0, unknown: 0 };
  /** Interface names learned from counter samples (OVS record 1005), by "exporter/ifIndex". */
  private readonly portNames = new Map<string, string>();
  readonly totals = { datagrams: 0, lost: 0, flowSamples: 0, counterSamples: 0, invalid: 0 };

  constructor(private readonly o: SflowCollectorOptions) {}

  /** Handles one datagram received at `now` (ms). */
  datagram(buf: Uint8Array, now: number): void {
    const { counters, probe } = this.o;
    this.totals.datagrams++;
    counters.datagrams.inc({ probe });
    let d: SflowDatagram;
    try {
      d = decodeSflow(buf);
    } catch (err) {
      const reason = err instanceof SflowDecodeError ? err.reason : "invalid";
      this.totals.invalid++;
      counters.invalid.inc({ probe, reason: `sflow_${reason}` });
      this.o.onInvalid?.(buf, `sflow_${reason}`, (err as Error).message);
      return;
    }
    const exporter = `${d.agent}/${d.subAgentId}`;
    let state = this.exporters.get(exporter);
    if (!state) this.exporters.set(exporter, (state = { sequence: d.sequence, tables: new Map() }));
    else {
      const gap = d.sequence - state.sequence - 1;
      // A gap is loss; going backwards is an exporter restart (or reordering): start over from there.
      if (gap > 0 && gap < 1_000_000) {
        this.totals.lost += gap;
        counters.lost.inc({ probe, exporter }, gap);
      }
      state.sequence = d.sequence;
    }
    for (const s of d.samples) {
      this.pendingSamples[s.kind]++;
      if (s.kind === "flow") this.flowSample(d, state, s, now);
      else if (s.kind === "counters") this.counterSample(d, s, now);
    }
  }

  /** Adds the counts kept since the last call to the Prometheus counters. */
  private syncCounters(): void {
    const { counters, probe } = this.o;
    for (const kind of ["flow", "counters", "discard", "unknown"] as const) {
      if (this.pendingSamples[kind] > 0) counters.samples.inc({ probe, kind }, this.pendingSamples[kind]);
      this.pendingSamples[kind] = 0;
    }
  }

  private flowSample(d: SflowDatagram, exporter: ExporterState, s: SflowSample, now: number): void {
    this.totals.flowSamples++;
    let bytes: Uint8Array | undefined;
    let linkType: number = LINKTYPE.ETHERNET;
    let length = 0;
    for (const r of s.records) {
      const data = r.data as Record<string, unknown> | undefined;
      if (!data) continue;
      if (r.tag === "0:1") {
        const proto = data.headerProtocol as number;
        if (proto !== HEADER_ETHERNET && proto !== HEADER_IPV4 && proto !== HEADER_IPV6) continue;
        bytes = data.header as Uint8Array;
        linkType = proto === HEADER_ETHERNET ? LINKTYPE.ETHERNET : LINKTYPE.RAW;
        length = data.frameLength as number;
        break;
      }
      if ((r.tag === "0:3" || r.tag === "0:4") && !bytes) {
        bytes = sampledIpHeader(data, r.tag === "0:3" ? 4 : 6);
        linkType = LINKTYPE.RAW;
        length = data.length as number;
      }
    }
    if (!bytes) {
      this.o.counters.invalid.inc({ probe: this.o.probe, reason: "sflow_no_packet_record" });
      return;
    }
    const rate = Math.max(1, s.samplingRate ?? 1);
    const inIfIndex = s.input?.format === 0 ? s.input.value : 0;
    const outIfIndex = s.output?.format === 0 ? s.output.value : 0;
    this.tableFor(d, exporter, s).bytes(linkType, bytes, now, length, rate, inIfIndex, outIfIndex);
  }

  private tableFor(d: SflowDatagram, exporter: ExporterState, s: SflowSample): FlowTable {
    const source = (s.sourceIdType ?? 0) * 4294967296 + (s.sourceIdIndex ?? 0);
    let t = exporter.tables.get(source);
    if (!t) {
      // A data source that is an interface (ifIndex) is the capture point; an OVS bridge (entPhysical) is
      // not in the graph by that index: its flows carry no NodeTID unless a capture says which node it is.
      const node = s.sourceIdType === 0 ? this.nodeOf(d, s.sourceIdIndex ?? 0) : undefined;
      t = new FlowTable(this.o.table, {
        host: this.o.hostId,
        nodeTID: this.o.nodeTID ?? node?.TID ?? "",
        captureID: this.o.captureID ?? "",
        captureType: "sflow",
        samplingRate: s.samplingRate ?? 1,
        exporter: { Address: d.agent, SubAgentID: d.subAgentId, InIfIndex: 0, OutIfIndex: 0 },
      });
      exporter.tables.set(source, t);
      this.tables.push(t);
    }
    return t;
  }

  /** The interface node an exporter's ifIndex is: the one of that ifIndex (and learned name) in the agent's graph. */
  private nodeOf(d: SflowDatagram, ifIndex: number): { ID: string; TID: string } | undefined {
    if (!ifIndex) return undefined;
    const name = this.portNames.get(`${d.agent}/${d.subAgentId}/${ifIndex}`);
    let match: { ID: string; TID: string } | undefined;
    let matches = 0;
    for (const n of this.o.graph.nodes.values()) {
      if (n.Metadata.IfIndex !== ifIndex) continue;
      if (name !== undefined && n.Name !== name) continue;
      match = { ID: n.ID, TID: String(n.Metadata.TID ?? n.ID) };
      matches++;
    }
    // ifIndexes repeat across namespaces: without a name to tell them apart, an ambiguous match is none.
    return matches === 1 ? match : undefined;
  }

  private counterSample(d: SflowDatagram, s: SflowSample, now: number): void {
    this.totals.counterSamples++;
    let generic: Record<string, number> | undefined;
    let ethernet: Record<string, number> | undefined;
    for (const r of s.records) {
      if (r.tag === "0:1") generic = r.data as Record<string, number>;
      else if (r.tag === "0:2") ethernet = r.data as Record<string, number>;
      else if (r.tag === "0:1005" && s.sourceIdType === 0) {
        this.portNames.set(`${d.agent}/${d.subAgentId}/${s.sourceIdIndex}`, (r.data as { portName: string }).portName);
      }
    }
    if (!generic) return;
    const ifIndex = generic.ifIndex ?? 0;
    const node = this.nodeOf(d, ifIndex);
    if (!node) return;
    this.o.graph.decorate(`${this.o.probe}/${d.agent}`, node.ID, {
      SFlow: { Agent: d.agent, SubAgentID: d.subAgentId, ...generic, ...(ethernet ?? {}), Last: now },
    });
  }

  /** Advances every table to `now` and returns the flows they emitted. */
  advance(now: number): FlowRecord[] {
    return this.drainAll((t) => t.advance(now));
  }

  /** Emits every flow held (collector stop). */
  flush(now: number): FlowRecord[] {
    return this.drainAll((t) => t.flush(now));
  }

  private drainAll(step: (t: FlowTable) => void): FlowRecord[] {
    this.syncCounters();
    const out: FlowRecord[] = [];
    for (const t of this.tables) {
      step(t);
      for (const f of t.drain()) out.push(f);
    }
    return out;
  }

  get flowsHeld(): number {
    let n = 0;
    for (const t of this.tables) n += t.size;
    return n;
  }
}

/** The IP and transport headers an sFlow sampled IPv4/IPv6 record describes (no header sampled), as bytes. */
function sampledIpHeader(data: Record<string, unknown>, version: 4 | 6): Uint8Array {
  const protocol = data.protocol as number;
  const ports = protocol === 6 || protocol === 17 || protocol === 132;
  const ipLen = version === 4 ? 20 : 40;
  const b = Buffer.alloc(ipLen + (ports ? 14 : 0));
  const addr = (s: string, at: number) => {
    if (version === 4) s.split(".").forEach((x, i) => (b[at + i] = Number(x)));
    else s.split(":").forEach((g, i) => b.writeUInt16BE(parseInt(g, 16) || 0, at + 2 * i));
  };
  if (version === 4) {
    b[0] = 0x45;
    b.writeUInt16BE(Math.min(0xffff, data.length as number), 2);
    b[8] = 64;
    b[9] = protocol;
    addr(data.src as string, 12);
    addr(data.dst as string, 16);
  } else {
    b[0] = 0x60;
    b.writeUInt16BE(Math.max(0, Math.min(0xffff, (data.length as number) - 40)), 4);
    b[6] = protocol;
    b[7] = 64;
    addr(data.src as string, 8);
    addr(data.dst as string, 24);
  }
  if (ports) {
    b.writeUInt16BE((data.srcPort as number) & 0xffff, ipLen);
    b.writeUInt16BE((data.dstPort as number) & 0xffff, ipLen + 2);
    b[ipLen + 13] = (data.tcpFlags as number) & 0xff;
  }
  return b;
}
