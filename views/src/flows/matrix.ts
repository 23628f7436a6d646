// The flow matrix as a view sees it: who talks to whom, from the API's rows (GET /api/flowmatrix) or a
// table frame with the same column names (the dashboards' SQL), matched case-insensitively. Turned into
// a two-column flow diagram — clients on the left, services (server address, port, process) on the
// right — which is a DAG whatever the traffic, so a sankey can draw it; and into a table.

/** The columns read, in the API's names (Skydive's flow matrix plus volumes). */
export interface MatrixRow {
  Protocol: string;
  Server: string;
  ServerIP: string;
  Port: number;
  ServerProcName: string;
  Client: string;
  ClientIP: string;
  ClientProcName: string;
  ClientToServerBytes: number;
  ServerToClientBytes: number;
  ClientToServerPackets: number;
  ServerToClientPackets: number;
  Flows: number;
}

const TEXT = ["Protocol", "Server", "ServerIP", "ServerProcName", "Client", "ClientIP", "ClientProcName"] as const;
const NUMBER = ["Port", "ClientToServerBytes", "ServerToClientBytes", "ClientToServerPackets", "ServerToClientPackets", "Flows"] as const;

/** Rows from columns (a frame's fields by name); columns not there read as "" or 0. */
export function matrixRows(columns: Record<string, ArrayLike<unknown>>): MatrixRow[] {
  const byName = new Map(Object.entries(columns).map(([k, v]) => [k.toLowerCase(), v]));
  const length = Math.max(0, ...[...byName.values()].map((c) => c.length));
  const col = (name: string) => byName.get(name.toLowerCase());
  const rows: MatrixRow[] = [];
  for (let i = 0; i < length; i++) {
    const row = {} as Record<string, string | number>;
    for (const k of TEXT) row[k] = String(col(k)?.[i] ?? "");
    for (const k of NUMBER) row[k] = Number(col(k)?.[i] ?? 0) || 0;
    rows.push(row as unknown as MatrixRow);
  }
  return rows;
}

export type Metric = "bytes" | "packets" | "flows";

export function volume(r: MatrixRow, metric: Metric): number {
  if (metric === "flows") return r.Flows;
  if (metric === "packets") return r.ClientToServerPackets + r.ServerToClientPackets;
  return r.ClientToServerBytes + r.ServerToClientBytes;
}

const plainIp = (ip: string) => ip.replace(/^::ffff:/, "");

/** The client end: where it is and, when known, which process. */
export function clientLabel(r: MatrixRow): string {
  const where = r.Client && r.Client !== plainIp(r.ClientIP) ? `${r.Client} ${plainIp(r.ClientIP)}` : plainIp(r.ClientIP) || r.Client;
  return r.ClientProcName ? `${r.ClientProcName} @ ${where}` : where;
}

/** The service: address, port and protocol, and the process serving it when known. */
export function serviceLabel(r: MatrixRow): string {
  const ip = plainIp(r.ServerIP);
  const addr = ip.includes(":") ? `[${ip}]:${r.Port}` : `${ip}:${r.Port}`;
  const where = `${addr}/${r.Protocol.toLowerCase()}`;
  return r.ServerProcName ? `${r.ServerProcName} @ ${where}` : where;
}

export interface DiagramNode {
  id: string;
  label: string;
  side: "client" | "service";
  value: number;
}

export interface DiagramLink {
  source: string;
  target: string;
  value: number;
  /** The matrix rows the link stands for. */
  rows: number;
}

export interface Diagram {
  nodes: DiagramNode[];
  links: DiagramLink[];
  total: number;
}

export const OTHER_CLIENTS = "other clients";
export const OTHER_SERVICES = "other services";

/**
 * Clients → services weighted by `metric`, the `maxPerSide` biggest of each side kept (the rest summed
 * into one "other" node per side), nodes sorted by volume. Rows with no volume are left out: a sankey
 * cannot draw a zero-width band.
 */
export function flowDiagram(rows: readonly MatrixRow[], metric: Metric, maxPerSide = 15): Diagram {
  const clients = new Map<string, number>();
  const services = new Map<string, number>();
  const pairs: { client: string; service: string; value: number }[] = [];
  let total = 0;
  for (const r of rows) {
    const value = volume(r, metric);
    if (!(value > 0)) continue;
    const client = clientLabel(r);
    const service = serviceLabel(r);
    clients.set(client, (clients.get(client) ?? 0) + value);
    services.set(service, (services.get(service) ?? 0) + value);
    pairs.push({ client, service, value });
    total += value;
  }
  const top = (m: Map<string, number>) =>
    new Set(
      [...m.entries()]
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
        .slice(0, maxPerSide)
        .map(([k]) => k),
    );
  const keptClients = top(clients);
  const keptServices = top(services);
  const links = new Map<string, DiagramLink>();
  const nodes = new Map<string, DiagramNode>();
  for (const p of pairs) {
    const c = keptClients.has(p.client) ? p.client : OTHER_CLIENTS;
    const s = keptServices.has(p.service) ? p.service : OTHER_SERVICES;
    const source = `c:${c}`;
    const target = `s:${s}`;
    const key = `${source}\n${target}`;
    const link = links.get(key) ?? { source, target, value: 0, rows: 0 };
    link.value += p.value;
    link.rows++;
    links.set(key, link);
    for (const [id, label, side] of [
      [source, c, "client"],
      [target, s, "service"],
    ] as const) {
      const n = nodes.get(id) ?? { id, label, side, value: 0 };
      n.value += p.value;
      nodes.set(id, n);
    }
  }
  const sorted = [...nodes.values()].sort((a, b) => (a.side === b.side ? b.value - a.value : a.side === "client" ? -1 : 1));
  return { nodes: sorted, links: [...links.values()].sort((a, b) => b.value - a.value), total };
}

/** Volumes as people read them: 1.5 MB, 12 k packets. */
export function formatVolume(v: number, metric: Metric): string {
  const units = metric === "bytes" ? ["B", "kB", "MB", "GB", "TB", "PB"] : ["", "k", "M", "G", "T", "P"];
  let i = 0;
  while (Math.abs(v) >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  const n = i === 0 ? String(Math.round(v)) : v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0);
  const unit = units[i]!;
  return metric === "bytes" ? `${n} ${unit}` : `${n}${unit}${metric === "flows" ? " flows" : " pkts"}`;
}

/** Bits per second as people read them: 12.5 Mb/s. */
export function formatBitrate(bps: number): string {
  const units = ["b/s", "kb/s", "Mb/s", "Gb/s", "Tb/s"];
  let i = 0;
  while (bps >= 1000 && i < units.length - 1) {
    bps /= 1000;
    i++;
  }
  return `${i === 0 ? Math.round(bps) : bps.toFixed(bps < 10 ? 2 : bps < 100 ? 1 : 0)} ${units[i]}`;
}
