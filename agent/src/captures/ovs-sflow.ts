// Skydive's ovssflow capture: sFlow export configured on an OVS bridge through OVSDB (an sFlow row with
// the capture id in external_ids, referenced from the bridge), pointed at the agent's collector. Removing
// the bridge's reference ends the export (OVSDB garbage-collects the unreferenced sFlow row).
import { OvsdbClient } from "../probes/topology/ovsdb/jsonrpc.js";

export interface OvsSflowSettings {
  captureId: string;
  target: string;
  sampling: number;
  polling: number;
  header: number;
}

async function transact(address: string, ops: unknown[]): Promise<void> {
  const c = new OvsdbClient(address);
  await c.connect();
  try {
    const results = await c.call<{ error?: string; details?: string }[]>("transact", ["Open_vSwitch", ...ops]);
    const failed = results.find((r) => r && r.error);
    if (failed) throw new Error(`ovsdb: ${failed.error}${failed.details ? `: ${failed.details}` : ""}`);
  } finally {
    c.close();
  }
}

export function enableBridgeSflow(address: string, bridgeUuid: string, s: OvsSflowSettings): Promise<void> {
  return transact(address, [
    {
      op: "insert",
      table: "sFlow",
      "uuid-name": "capture",
      row: {
        targets: ["set", [s.target]],
        // OVS: without the column, its defaults apply (sampling 1 in 400, polling every 30 s).
        ...(s.sampling > 0 ? { sampling: s.sampling } : {}),
        ...(s.polling > 0 ? { polling: s.polling } : {}),
        header: s.header,
        external_ids: ["map", [["skystream-capture-id", s.captureId]]],
      },
    },
    { op: "update", table: "Bridge", where: [["_uuid", "==", ["uuid", bridgeUuid]]], row: { sflow: ["named-uuid", "capture"] } },
  ]);
}

export function disableBridgeSflow(address: string, bridgeUuid: string): Promise<void> {
  return transact(address, [{ op: "update", table: "Bridge", where: [["_uuid", "==", ["uuid", bridgeUuid]]], row: { sflow: ["set", []] } }]);
}
