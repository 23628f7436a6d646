import type { Metric } from '@skystream/views';

export type ViewKind = 'topology' | 'flowmatrix';
export type DataSourceKind = 'frames' | 'api';

export interface PanelOptions {
  /** What the panel shows. */
  view: ViewKind;
  /** Where its data comes from: the panel's queries (frames), or the Skystream query API. */
  source: DataSourceKind;
  /** The Skystream API's base URL (source = api); the API must allow the dashboard's origin (api.cors_origins). */
  apiUrl: string;
  /** A bearer token for the API, when it asks for one. */
  apiToken: string;
  /** Topology from the API: a Gremlin query ending in a graph (SubGraph), run at the range's end when in the past. */
  gremlin: string;
  /** Nodes to highlight: a name, type, address, MAC… */
  search: string;
  /** Flow matrix: what sizes the bands and orders the rows. */
  metric: Metric;
  /** Flow matrix: clients and services drawn on each side; the rest are summed as "other". */
  maxPerSide: number;
  /** Flow matrix: show the table under the diagram. */
  showTable: boolean;
}

export const DEFAULTS: PanelOptions = {
  view: 'topology',
  source: 'frames',
  apiUrl: 'http://localhost:8082',
  apiToken: '',
  gremlin: 'G.V().SubGraph()',
  search: '',
  metric: 'bytes',
  maxPerSide: 15,
  showTable: true,
};
