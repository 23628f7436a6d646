// Stable ids (Skydive's TID idea): UUIDv5 of the host and the element's stable attributes, so a
// restarted agent updates the same nodes instead of creating new ones.
import { createHash } from "node:crypto";

/** Namespace of every Skystream UUIDv5. */
const NAMESPACE = Buffer.from("6f1d2a3e9c0b4d8e8a5f2b7c1e0d9a44", "hex");

export function uuidv5(...parts: string[]): string {
  const h = createHash("sha1").update(NAMESPACE).update(parts.join("\u0000")).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString("hex");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

export const hostNodeId = (hostId: string) => uuidv5("host", hostId);
export const netnsNodeId = (hostId: string, netns: string) => uuidv5("netns", hostId, netns);
/** An interface is known by its namespace, name and type (renaming it makes a new node, as in Skydive). */
export const interfaceNodeId = (parentId: string, name: string, type: string) => uuidv5("interface", parentId, name, type);
export const edgeId = (parent: string, child: string, relation: string) => uuidv5("edge", parent, child, relation);
