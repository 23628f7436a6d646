// Where the panel's pictures come from: the query results Grafana hands it (data frames — Node Graph
// `nodes`/`edges` frames for the topology, a flow-matrix table for the matrix), or the Skystream query
// API directly. Both end in the views core's shapes (ApiGraph, MatrixRow).
import type { DataFrame } from '@grafana/data';
import { fromNodeGraphFrames, matrixRows, type ApiGraph, type MatrixRow } from '@skystream/views';

type Columns = Record<string, unknown[]>;

/** A frame's fields as plain columns, by field name. */
export function columnsOf(frame: DataFrame): Columns {
  const out: Columns = {};
  for (const f of frame.fields) {
    out[f.name] = Array.from(f.values as ArrayLike<unknown>);
  }
  return out;
}

const named = (f: DataFrame, name: string) => f.name === name || f.refId === name;
const hasField = (f: DataFrame, name: string) => f.fields.some((x) => x.name === name);

/**
 * The Node Graph pair among the frames: `nodes` and `edges` by name or refId (the ClickHouse data source
 * names a frame after its query's refId), else by shape (edges have source and target). Undefined when
 * there is no edges frame and no nodes frame.
 */
export function graphFromFrames(series: DataFrame[]): ApiGraph | undefined {
  const edges =
    series.find((f) => named(f, 'edges')) ?? series.find((f) => hasField(f, 'source') && hasField(f, 'target'));
  const nodes =
    series.find((f) => named(f, 'nodes')) ??
    series.find((f) => f !== edges && hasField(f, 'id') && !hasField(f, 'source'));
  if (!nodes && !edges) {
    return undefined;
  }
  const nodeColumns = nodes ? columnsOf(nodes) : { id: [] };
  const edgeColumns = edges ? columnsOf(edges) : { id: [], source: [], target: [] };
  if (!nodes) {
    // Edges alone (allowed by the Node Graph contract): the nodes are their ends.
    const ids = [...new Set([...edgeColumns.source, ...edgeColumns.target].map(String))];
    nodeColumns.id = ids;
  }
  return fromNodeGraphFrames(nodeColumns, edgeColumns);
}

/** The flow-matrix rows in the first frame that has a client and a server column. */
export function matrixFromFrames(series: DataFrame[]): MatrixRow[] | undefined {
  const lower = (f: DataFrame) => new Set(f.fields.map((x) => x.name.toLowerCase()));
  const frame = series.find((f) => {
    const names = lower(f);
    return (names.has('clientip') || names.has('client')) && (names.has('serverip') || names.has('server'));
  });
  return frame ? matrixRows(columnsOf(frame)) : undefined;
}

export interface ApiSource {
  apiUrl: string;
  apiToken: string;
}

async function call<T>(src: ApiSource, path: string, init: RequestInit = {}): Promise<T> {
  const url = `${src.apiUrl.replace(/\/+$/, '')}/${path}`;
  const headers: Record<string, string> = {};
  if (init.body) {
    headers['content-type'] = 'application/json';
  }
  if (src.apiToken) {
    headers.authorization = `Bearer ${src.apiToken}`;
  }
  const r = await fetch(url, { ...init, headers });
  if (!r.ok) {
    const body = (await r.json().catch(() => ({}))) as { error?: string; message?: string };
    throw new Error(`Skystream API ${r.status}: ${body.error ?? body.message ?? r.statusText}`);
  }
  return (await r.json()) as T;
}

/** Within this much of now, the range's end means "live". */
const LIVE_MS = 60_000;

/** The topology from the API: the Gremlin query at the range's end (`G.At(t)…`) unless that end is now. */
export async function fetchGraph(src: ApiSource, gremlin: string, to: number, now = Date.now()): Promise<ApiGraph> {
  const query = now - to > LIVE_MS ? gremlin.replace(/^G\./, `G.At(${Math.round(to)}).`) : gremlin;
  const result = await call<unknown>(src, 'api/topology', {
    method: 'POST',
    body: JSON.stringify({ GremlinQuery: query }),
  });
  const graph = (Array.isArray(result) ? result[0] : result) as ApiGraph | undefined;
  if (!graph || !Array.isArray(graph.Nodes)) {
    throw new Error('the Gremlin query must end with SubGraph() (or give the graph as {Nodes, Edges})');
  }
  return { Nodes: graph.Nodes, Edges: graph.Edges ?? [] };
}

/** The flow matrix over [from, to] from the API. */
export function fetchMatrix(src: ApiSource, from: number, to: number): Promise<MatrixRow[]> {
  return call<MatrixRow[]>(src, `api/flowmatrix?from=${Math.round(from)}&to=${Math.round(to)}&limit=1000`);
}
