// Flow enrichment: which topology a flow belongs to, as of the flow's own time window.
// - the capture node, from NodeTID;
// - the node at each end: by MAC (one layer-2 domain: preferring the capture's host), then by IP where
//   the MAC node does not hold the address (a routed peer), preferring the capture's host and namespace;
// - the process at each end, from the sockets the socketinfo probe reported on that end's namespace (the
//   connection's own socket, else the listener of the port), else from any namespace reporting that tuple;
// - which end is the server: the end with a listener on its port, else the SYN's target, else the
//   well-known (lower, < 1024) port.
import type { FlowEndpoint, FlowEnrichment, FlowRecord, NodeRef, ProcessInfo } from "@skystream/schemas";
import { holdsAddress, type NodeRevision, type SocketInfo, type TopologyIndex } from "./topology-index.js";

export interface EnricherOptions {
  /** Sockets are polled: a revision this close to the flow's window still counts. */
  slackMs: number;
}

const ref = (n: NodeRevision | undefined): NodeRef | null => (n ? { ID: n.id, Name: n.row.Name, Type: n.row.Type, Host: n.row.Host } : null);
const processOf = (s: SocketInfo | undefined): ProcessInfo | null =>
  s ? { Pid: s.Pid, Name: s.Name, Process: s.Process ?? "", Cmdline: s.Cmdline ?? "" } : null;
const BROADCAST = "ff:ff:ff:ff:ff:ff";
const SOCKET_PROTOCOLS = new Set(["TCP", "UDP"]);

interface End {
  mac: string;
  ip: string;
  port: number;
}

export class Enricher {
  constructor(
    private readonly index: TopologyIndex,
    private readonly opts: EnricherOptions,
  ) {}

  enrich(f: FlowRecord): FlowEnrichment {
    const t1 = f.Last + this.opts.slackMs;
    const t0 = (f.LastUpdateMetric?.Start || f.Start) - this.opts.slackMs;
    const capture = f.NodeTID ? (this.index.byTID(f.NodeTID, t0, t1) ?? this.index.node(f.NodeTID, t0, t1)) : undefined;
    const a: End = { mac: f.Link?.A ?? "", ip: f.Network?.A ?? "", port: f.Transport?.A ?? 0 };
    const b: End = { mac: f.Link?.B ?? "", ip: f.Network?.B ?? "", port: f.Transport?.B ?? 0 };
    const aNode = this.endpointNode(a, capture, t0, t1);
    const bNode = this.endpointNode(b, capture, t0, t1);
    let aNs = aNode ? this.index.owner(aNode.id, t0, t1) : undefined;
    let bNs = bNode ? this.index.owner(bNode.id, t0, t1) : undefined;

    const proto = f.Transport?.Protocol ?? "";
    let aSock: SocketInfo | undefined;
    let bSock: SocketInfo | undefined;
    let server: FlowEnrichment["Server"] = "UNKNOWN";
    if (SOCKET_PROTOCOLS.has(proto) && a.ip && b.ip) {
      const ao = this.ownSocket(proto, a, b, aNs, t0, t1);
      const bo = this.ownSocket(proto, b, a, bNs, t0, t1);
      aSock = ao?.socket;
      bSock = bo?.socket;
      aNs ??= ao?.ns;
      bNs ??= bo?.ns;
      const bl = this.index.listener(proto, b.ip, b.port, t0, t1, bNs?.id);
      const al = bl ? undefined : this.index.listener(proto, a.ip, a.port, t0, t1, aNs?.id);
      if (bl) {
        server = "B";
        bNs ??= bl.ns;
        bSock ??= bl.socket;
      } else if (al) {
        server = "A";
        aNs ??= al.ns;
        aSock ??= al.socket;
      } else if (proto === "TCP" && (f.TCPMetric?.ABSynStart ?? 0) > 0) server = "B";
      else if (proto === "TCP" && (f.TCPMetric?.BASynStart ?? 0) > 0) server = "A";
      else if (b.port > 0 && b.port < 1024 && (a.port >= 1024 || a.port > b.port)) server = "B";
      else if (a.port > 0 && a.port < 1024 && b.port >= 1024) server = "A";
    }
    return {
      CaptureNode: ref(capture),
      A: this.endpoint(aNode, aNs, aSock, t0, t1),
      B: this.endpoint(bNode, bNs, bSock, t0, t1),
      Server: server,
    };
  }

  /** The socket of end `e` talking to `o`: on e's namespace when it is known, else on any. */
  private ownSocket(proto: string, e: End, o: End, ns: NodeRevision | undefined, t0: number, t1: number) {
    const found = this.index.socket(proto, e.ip, e.port, o.ip, o.port, t0, t1, ns?.id);
    return found || ns ? found : this.index.socket(proto, e.ip, e.port, o.ip, o.port, t0, t1);
  }

  private endpointNode(e: End, capture: NodeRevision | undefined, t0: number, t1: number): NodeRevision | undefined {
    const host = capture?.row.Host;
    const pick = (list: NodeRevision[]) => (list.length <= 1 ? list[0] : (list.find((n) => n.row.Host === host) ?? list[0]));
    const byMac = e.mac && e.mac !== BROADCAST ? this.index.withMac(e.mac, t0, t1) : [];
    if (e.ip) {
      // The MAC's owner is the end only if it holds the address; otherwise it is a router on the way.
      const holding = byMac.filter((n) => holdsAddress(n.md, e.ip));
      if (holding.length > 0) return pick(holding);
      const byIp = this.index.withIp(e.ip, t0, t1);
      if (byIp.length > 1 && capture) {
        const captureNs = this.index.owner(capture.id, t0, t1)?.id;
        const sameNs = byIp.filter((n) => this.index.owner(n.id, t0, t1)?.id === captureNs);
        if (sameNs.length > 0) return sameNs[0];
      }
      if (byIp.length > 0) return pick(byIp);
    }
    return pick(byMac);
  }

  private endpoint(node: NodeRevision | undefined, ns: NodeRevision | undefined, sock: SocketInfo | undefined, t0: number, t1: number): FlowEndpoint | null {
    if (!node && !ns && !sock) return null;
    const container = ns ? this.index.ownedBy(ns.id, t0, t1, "container")[0] : undefined;
    return {
      Node: ref(node),
      Netns: ns?.row.Type === "netns" ? ns.row.Name : "",
      Process: processOf(sock),
      Container: container?.row.Name ?? "",
      K8sNamespace: "",
      K8sPod: "",
    };
  }
}
