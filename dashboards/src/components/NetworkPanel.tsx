// Skystream's panel: the topology or the flow matrix, from the panel's queries (frames) or from the
// Skystream API, following the dashboard's time range (the topology as of the range's end).
import React, { useEffect, useMemo, useState } from 'react';
import type { PanelProps } from '@grafana/data';
import { PanelDataErrorView } from '@grafana/runtime';
import { Alert } from '@grafana/ui';
import type { ApiGraph, MatrixRow } from '@skystream/views';
import { DEFAULTS, type PanelOptions } from '../types';
import { fetchGraph, fetchMatrix, graphFromFrames, matrixFromFrames } from '../data';
import { TopologyView } from './TopologyView';
import { FlowMatrixView } from './FlowMatrixView';

interface Loaded {
  graph?: ApiGraph;
  rows?: MatrixRow[];
  error?: string;
}

/** What the API gives for the options and time range; re-read whenever the panel's data is refreshed. */
function useApi(o: PanelOptions, from: number, to: number, refresh: unknown): Loaded {
  const [loaded, setLoaded] = useState<Loaded>({});
  useEffect(() => {
    if (o.source !== 'api') {
      return;
    }
    let live = true;
    const src = { apiUrl: o.apiUrl, apiToken: o.apiToken };
    const load: Promise<Loaded> =
      o.view === 'topology'
        ? fetchGraph(src, o.gremlin, to).then((graph) => ({ graph }))
        : fetchMatrix(src, from, to).then((rows) => ({ rows }));
    load
      .catch((e: unknown) => ({ error: e instanceof Error ? e.message : String(e) }))
      .then((l) => live && setLoaded(l));
    return () => {
      live = false;
    };
  }, [o.source, o.view, o.apiUrl, o.apiToken, o.gremlin, from, to, refresh]);
  return loaded;
}

export function NetworkPanel({ options, data, width, height, timeRange, id, fieldConfig }: PanelProps<PanelOptions>) {
  const o = { ...DEFAULTS, ...options };
  const from = timeRange.from.valueOf();
  const to = timeRange.to.valueOf();
  const fromApi = useApi(o, from, to, data);
  const fromFrames = useMemo<Loaded>(
    () =>
      o.source === 'api'
        ? {}
        : o.view === 'topology'
          ? { graph: graphFromFrames(data.series) }
          : { rows: matrixFromFrames(data.series) },
    [o.source, o.view, data.series]
  );
  const got = o.source === 'api' ? fromApi : fromFrames;

  if (got.error) {
    return (
      <Alert severity="error" title="Skystream">
        {got.error}
      </Alert>
    );
  }
  if (o.view === 'topology') {
    if (!got.graph) {
      return o.source === 'api' ? null : (
        <PanelDataErrorView
          panelId={id}
          fieldConfig={fieldConfig}
          data={data}
          message="No topology: queries named nodes and edges (Node Graph columns) or source: Skystream API"
        />
      );
    }
    return <TopologyView graph={got.graph} width={width} height={height} search={o.search} />;
  }
  if (!got.rows) {
    return o.source === 'api' ? null : (
      <PanelDataErrorView
        panelId={id}
        fieldConfig={fieldConfig}
        data={data}
        message="No flow matrix: a table with ClientIP and ServerIP columns (or source: Skystream API)"
      />
    );
  }
  return (
    <FlowMatrixView
      rows={got.rows}
      metric={o.metric}
      maxPerSide={o.maxPerSide}
      showTable={o.showTable}
      width={width}
      height={height}
    />
  );
}
