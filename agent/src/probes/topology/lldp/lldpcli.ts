// Neighbours learnt by lldpd, read with `lldpcli -f json0` (arrays everywhere, whatever the count).
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const exec = promisify(execFile);

export interface LldpNeighbor {
  /** Local interface the neighbour was seen on. */
  ifname: string;
  chassisId: string;
  chassisIdType: string;
  sysName: string;
  description: string;
  mgmtAddresses: string[];
  capabilities: string[];
  portId: string;
  portIdType: string;
  portDescription: string;
  ttl: number;
}

type V = { value?: string; type?: string; enabled?: boolean }[] | undefined;
const first = (v: V) => v?.[0]?.value ?? "";

export function parseNeighbors(json: string): LldpNeighbor[] {
  const doc = JSON.parse(json) as { lldp?: { interface?: Record<string, unknown>[] }[] };
  const out: LldpNeighbor[] = [];
  for (const l of doc.lldp ?? []) {
    for (const i of l.interface ?? []) {
      const chassis = (i.chassis as Record<string, V>[] | undefined)?.[0] ?? {};
      const port = (i.port as Record<string, V>[] | undefined)?.[0] ?? {};
      out.push({
        ifname: String(i.name),
        chassisId: chassis.id?.[0]?.value ?? "",
        chassisIdType: chassis.id?.[0]?.type ?? "",
        sysName: first(chassis.name),
        description: first(chassis.descr),
        mgmtAddresses: (chassis["mgmt-ip"] ?? []).map((x) => x.value ?? ""),
        capabilities: (chassis.capability ?? []).filter((c) => c.enabled).map((c) => c.type ?? ""),
        portId: port.id?.[0]?.value ?? "",
        portIdType: port.id?.[0]?.type ?? "",
        portDescription: first(port.descr),
        ttl: Number(first(port.ttl) || 0),
      });
    }
  }
  return out;
}

export async function neighbors(socket: string): Promise<LldpNeighbor[]> {
  const { stdout } = await exec("lldpcli", ["-u", socket, "-f", "json0", "show", "neighbors"], { timeout: 5000 });
  return parseNeighbors(stdout);
}
