import { PanelPlugin } from '@grafana/data';
import { DEFAULTS, type PanelOptions } from './types';
import { NetworkPanel } from './components/NetworkPanel';

const isApi = (o: PanelOptions) => o.source === 'api';

export const plugin = new PanelPlugin<PanelOptions>(NetworkPanel).setPanelOptions((builder) =>
  builder
    .addRadio({
      path: 'view',
      name: 'View',
      defaultValue: DEFAULTS.view,
      settings: {
        options: [
          { value: 'topology', label: 'Topology' },
          { value: 'flowmatrix', label: 'Flow matrix' },
        ],
      },
    })
    .addRadio({
      path: 'source',
      name: 'Data',
      description:
        "The panel's queries (Node Graph nodes/edges frames, or a flow-matrix table), or the Skystream query API",
      defaultValue: DEFAULTS.source,
      settings: {
        options: [
          { value: 'frames', label: 'Queries' },
          { value: 'api', label: 'Skystream API' },
        ],
      },
    })
    .addTextInput({
      path: 'apiUrl',
      name: 'API URL',
      description:
        "The Skystream API's address as the browser reaches it; it must allow this Grafana's origin (api.cors_origins)",
      defaultValue: DEFAULTS.apiUrl,
      showIf: isApi,
    })
    .addTextInput({
      path: 'apiToken',
      name: 'API token',
      description: 'Bearer token, when the API asks for one',
      defaultValue: '',
      showIf: isApi,
    })
    .addTextInput({
      path: 'gremlin',
      name: 'Gremlin',
      description: "The graph to draw; run at the time range's end when that is in the past",
      defaultValue: DEFAULTS.gremlin,
      showIf: (o) => isApi(o) && o.view === 'topology',
    })
    .addTextInput({
      path: 'search',
      name: 'Highlight',
      description: 'Nodes to highlight: a name, type, address or MAC',
      defaultValue: '',
      showIf: (o) => o.view === 'topology',
    })
    .addRadio({
      path: 'metric',
      name: 'Volume',
      defaultValue: DEFAULTS.metric,
      settings: {
        options: [
          { value: 'bytes', label: 'Bytes' },
          { value: 'packets', label: 'Packets' },
          { value: 'flows', label: 'Flows' },
        ],
      },
      showIf: (o) => o.view === 'flowmatrix',
    })
    .addNumberInput({
      path: 'maxPerSide',
      name: 'Clients and services drawn',
      description: 'On each side; the rest are summed as "other"',
      defaultValue: DEFAULTS.maxPerSide,
      settings: { min: 1, max: 100, integer: true },
      showIf: (o) => o.view === 'flowmatrix',
    })
    .addBooleanSwitch({
      path: 'showTable',
      name: 'Table',
      defaultValue: DEFAULTS.showTable,
      showIf: (o) => o.view === 'flowmatrix',
    })
);
