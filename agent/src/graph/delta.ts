// Graph elements <-> TopologyDelta (the Avro contract): common metadata typed, the rest as JSON.
// Type, Name and RelationType are fields of their own, not metadata keys.
import type { Node as AvroNode, Edge as AvroEdge } from "@skystream/schemas";
import type { GraphEdge, GraphNode, Metadata } from "./graph.js";

const TYPED = ["TID", "MAC", "MTU", "State", "IfIndex", "Driver", "IPV4", "IPV6"] as const;

export function nodeToAvro(n: GraphNode): AvroNode {
  const m = n.Metadata;
  const extra: Metadata = {};
  for (const [k, v] of Object.entries(m)) if (!(TYPED as readonly string[]).includes(k)) extra[k] = v;
  return {
    ID: n.ID,
    Host: n.Host,
    Origin: n.Origin,
    Type: n.Type,
    Name: n.Name,
    Metadata: {
      TID: typeof m.TID === "string" ? m.TID : "",
      MAC: typeof m.MAC === "string" ? m.MAC : "",
      MTU: typeof m.MTU === "number" ? m.MTU : 0,
      State: typeof m.State === "string" ? m.State : "",
      IfIndex: typeof m.IfIndex === "number" ? m.IfIndex : 0,
      Driver: typeof m.Driver === "string" ? m.Driver : "",
      IPV4: Array.isArray(m.IPV4) ? (m.IPV4 as string[]) : [],
      IPV6: Array.isArray(m.IPV6) ? (m.IPV6 as string[]) : [],
      Extra: JSON.stringify(extra),
    },
    CreatedAt: n.CreatedAt,
    UpdatedAt: n.UpdatedAt,
    DeletedAt: n.DeletedAt ?? null,
    Revision: n.Revision,
  };
}

export function nodeFromAvro(a: AvroNode): GraphNode {
  const md = a.Metadata;
  const m: Metadata = JSON.parse(md.Extra ?? "{}") as Metadata;
  if (md.TID) m.TID = md.TID;
  if (md.MAC) m.MAC = md.MAC;
  if (md.MTU) m.MTU = md.MTU;
  if (md.State) m.State = md.State;
  if (md.IfIndex) m.IfIndex = md.IfIndex;
  if (md.Driver) m.Driver = md.Driver;
  if (md.IPV4?.length) m.IPV4 = md.IPV4;
  if (md.IPV6?.length) m.IPV6 = md.IPV6;
  return {
    ID: a.ID,
    Host: a.Host,
    Origin: a.Origin,
    Type: a.Type,
    Name: a.Name,
    Metadata: m,
    CreatedAt: a.CreatedAt,
    UpdatedAt: a.UpdatedAt,
    ...(a.DeletedAt != null ? { DeletedAt: a.DeletedAt } : {}),
    Revision: a.Revision,
  };
}

export function edgeToAvro(e: GraphEdge): AvroEdge {
  return {
    ID: e.ID,
    Host: e.Host,
    Origin: e.Origin,
    Parent: e.Parent,
    Child: e.Child,
    RelationType: e.RelationType,
    Extra: JSON.stringify(e.Metadata),
    CreatedAt: e.CreatedAt,
    UpdatedAt: e.UpdatedAt,
    DeletedAt: e.DeletedAt ?? null,
    Revision: e.Revision,
  };
}

export function edgeFromAvro(a: AvroEdge): GraphEdge {
  return {
    ID: a.ID,
    Host: a.Host,
    Origin: a.Origin,
    Parent: a.Parent,
    Child: a.Child,
    RelationType: a.RelationType,
    Metadata: JSON.parse(a.Extra ?? "{}") as Metadata,
    CreatedAt: a.CreatedAt,
    UpdatedAt: a.UpdatedAt,
    ...(a.DeletedAt != null ? { DeletedAt: a.DeletedAt } : {}),
    Revision: a.Revision,
  };
}
