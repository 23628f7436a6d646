// Test data in the shapes the panel gets: a lab's graph as the Skystream API gives it (GET /api/topology),
// as Node Graph frames (what the dashboards' SQL returns), and flow-matrix rows (GET /api/flowmatrix).
import {
  createDataFrame,
  EventBusSrv,
  FieldType,
  getDefaultTimeRange,
  LoadingState,
  type DataFrame,
  type PanelProps,
} from '@grafana/data';
import { toNodeGraphFrames, buildModel, type ApiGraph, type MatrixRow } from '@skystream/views';

const node = (ID: string, Name: string, Type: string, more: Record<string, unknown> = {}) => ({
  ID,
  Host: 'lab-host',
  Metadata: { Name, Type, State: 'UP', ...more },
});
const edge = (ID: string, Parent: string, Child: string, RelationType: string, more: Record<string, unknown> = {}) => ({
  ID,
  Parent,
  Child,
  Metadata: { RelationType, ...more },
});

export const LAB: ApiGraph = {
  Nodes: [
    node('h', 'lab-host', 'host'),
    node('na', 'lab-a', 'netns'),
    node('nb', 'lab-b', 'netns'),
    node('va', 'veth-a', 'veth', { IPV4: ['198.18.0.1/24'], MAC: '02:00:00:00:00:01' }),
    node('vb', 'veth-b', 'veth', { IPV4: ['198.18.0.2/24'], MAC: '02:00:00:00:00:02', State: 'DOWN' }),
    node('lo', 'lo', 'device'),
  ],
  Edges: [
    edge('e1', 'h', 'na', 'ownership'),
    edge('e2', 'h', 'nb', 'ownership'),
    edge('e3', 'na', 'va', 'ownership'),
    edge('e4', 'nb', 'vb', 'ownership'),
    edge('e5', 'na', 'lo', 'ownership'),
    edge('e6', 'va', 'vb', 'layer2', { Bps: 2_500_000 }),
  ],
};

/** Columns → a Grafana frame, field types guessed from the values. */
export function frame(name: string, columns: Record<string, unknown[]>): DataFrame {
  return createDataFrame({
    name,
    refId: name,
    fields: Object.entries(columns).map(([n, values]) => ({
      name: n,
      type: typeof values.find((v) => v !== undefined) === 'number' ? FieldType.number : FieldType.string,
      values,
    })),
  });
}

export function graphFrames(graph: ApiGraph): DataFrame[] {
  const { nodes, edges } = toNodeGraphFrames(buildModel(graph));
  return [frame('nodes', nodes), frame('edges', edges)];
}

const row = (m: Partial<MatrixRow>): MatrixRow => ({
  Protocol: 'TCP',
  Server: 'lab-host',
  ServerIP: '198.18.0.2',
  Port: 8080,
  ServerProcName: 'python3',
  Client: 'lab-host',
  ClientIP: '198.18.0.1',
  ClientProcName: 'curl',
  ClientToServerBytes: 1200,
  ServerToClientBytes: 56000,
  ClientToServerPackets: 10,
  ServerToClientPackets: 40,
  Flows: 3,
  ...m,
});

export const MATRIX: MatrixRow[] = [
  row({}),
  row({ ClientIP: '198.18.0.3', ClientProcName: 'wget', ClientToServerBytes: 300, ServerToClientBytes: 900, Flows: 1 }),
  row({
    Protocol: 'UDP',
    Port: 53,
    ServerProcName: 'dnsmasq',
    ClientProcName: 'resolver',
    ClientToServerBytes: 80,
    ServerToClientBytes: 160,
    Flows: 2,
  }),
];

export function matrixFrame(rows: MatrixRow[]): DataFrame {
  // A query with no rows still has its columns.
  const cols: Record<string, unknown[]> = Object.fromEntries(Object.keys(row({})).map((k) => [k, []]));
  for (const r of rows) {
    for (const [k, v] of Object.entries(r)) {
      (cols[k] ??= []).push(v);
    }
  }
  return frame('A', cols);
}

const noop = () => {};
export function panelProps<T>(options: T, series: DataFrame[] = [], over: Partial<PanelProps<T>> = {}): PanelProps<T> {
  const timeRange = getDefaultTimeRange();
  return {
    id: 1,
    title: 'test',
    transparent: false,
    width: 1000,
    height: 600,
    renderCounter: 0,
    data: { state: LoadingState.Done, series, timeRange },
    timeRange,
    timeZone: 'utc',
    options,
    fieldConfig: { defaults: {}, overrides: [] },
    eventBus: new EventBusSrv(),
    onOptionsChange: noop,
    onFieldConfigChange: noop,
    onChangeTimeRange: noop,
    replaceVariables: (s: string) => s,
    ...over,
  } as PanelProps<T>;
}
