// The topology in the panel: the views core's canvas (nested host ⊃ netns ⊃ interfaces, links by relation,
// state colours, traffic on links), a search box that highlights and, on Enter, selects the first match,
// and the selected node's metadata. Pan by dragging, zoom with the wheel, double-click an owner to fold it.
import React, { useEffect, useMemo, useRef, useState } from 'react';
import { css } from '@emotion/css';
import type { GrafanaTheme2 } from '@grafana/data';
import { Input, useStyles2, useTheme2 } from '@grafana/ui';
import { buildModel, GraphView, searchNodes, type ApiGraph, type ViewNode } from '@skystream/views';
import { viewTheme } from './theme';

interface Props {
  graph: ApiGraph;
  width: number;
  height: number;
  /** The search from the panel's options; the box starts with it. */
  search: string;
}

export function TopologyView({ graph, width, height, search }: Props) {
  const theme = useTheme2();
  const styles = useStyles2(getStyles);
  const canvas = useRef<HTMLCanvasElement>(null);
  const view = useRef<GraphView>(undefined);
  const [selectedId, setSelectedId] = useState<string>();
  // The box starts with the panel's option, and starts again from it when the option changes.
  const [query, setQuery] = useState(search);
  const [option, setOption] = useState(search);
  if (option !== search) {
    setOption(search);
    setQuery(search);
  }
  const model = useMemo(() => buildModel(graph), [graph]);
  const matches = useMemo(() => searchNodes(model, query), [model, query]);
  const selected = selectedId === undefined ? undefined : model.nodes.get(selectedId);

  // Effects run in order: the view exists before the others use it.
  useEffect(() => {
    const v = new GraphView(canvas.current!);
    v.onSelect = setSelectedId;
    view.current = v;
    return () => v.destroy();
  }, []);
  useEffect(() => {
    view.current!.theme = viewTheme(theme);
    view.current!.redraw();
  }, [theme]);
  useEffect(() => view.current!.setModel(model), [model]);
  useEffect(() => {
    view.current!.highlighted = matches;
    view.current!.selected = selected?.id;
    view.current!.redraw();
  }, [matches, selected]);

  const select = (id: string | undefined) => {
    setSelectedId(id);
    if (id !== undefined) {
      view.current?.focus(id);
    }
  };
  const down = [...model.nodes.values()].filter((n) => n.state === 'down').length;

  return (
    <div className={styles.wrapper} style={{ width, height }}>
      <canvas ref={canvas} className={styles.canvas} data-testid="skystream-topology-canvas" />
      <div className={styles.toolbar}>
        <div className={styles.search}>
          <Input
            aria-label="Search nodes"
            placeholder="Search: name, type, address, MAC…"
            value={query}
            onChange={(e) => setQuery(e.currentTarget.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && matches.size > 0) {
                select([...matches][0]);
              }
            }}
          />
        </div>
        <span role="status" aria-label="Topology summary" className={styles.status}>
          {model.nodes.size} nodes · {model.links.length} links · {down} down
          {query.trim() ? ` · ${matches.size} match` : ''}
        </span>
      </div>
      {selected && (
        <aside aria-label="Node details" className={styles.details}>
          <header className={styles.detailsHeader}>
            <strong>{selected.name}</strong> <span>{selected.type}</span>
            <button aria-label="Close details" className={styles.close} onClick={() => select(undefined)}>
              ×
            </button>
          </header>
          <table>
            <tbody>
              {metadataRows(selected).map(([k, v]) => (
                <tr key={k}>
                  <th>{k}</th>
                  <td>{v}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </aside>
      )}
    </div>
  );
}

/** A node's metadata as label/value pairs, nested objects flattened one level (`LastUpdateMetric.RxBytes`). */
export function metadataRows(n: ViewNode): Array<[string, string]> {
  const rows: Array<[string, string]> = [['ID', n.id]];
  if (n.host) {
    rows.push(['Host', n.host]);
  }
  for (const [k, v] of Object.entries(n.metadata).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k2, v2] of Object.entries(v as Record<string, unknown>)) {
        rows.push([`${k}.${k2}`, typeof v2 === 'object' ? JSON.stringify(v2) : String(v2)]);
      }
    } else if (Array.isArray(v) && v.some((x) => x !== null && typeof x === 'object')) {
      // Sockets, routing tables…: one line each, cut short.
      rows.push([`${k} (${v.length})`, v.map((x) => JSON.stringify(x).slice(0, 160)).join('\n')]);
    } else {
      rows.push([k, Array.isArray(v) ? v.join(', ') : String(v)]);
    }
  }
  return rows;
}

const getStyles = (theme: GrafanaTheme2) => ({
  wrapper: css({ position: 'relative', overflow: 'hidden' }),
  canvas: css({ position: 'absolute', inset: 0, width: '100%', height: '100%', cursor: 'grab' }),
  toolbar: css({
    position: 'absolute',
    top: theme.spacing(1),
    left: theme.spacing(1),
    display: 'flex',
    gap: theme.spacing(1),
    alignItems: 'center',
  }),
  search: css({ width: 280, flex: 'none' }),
  status: css({
    color: theme.colors.text.secondary,
    background: theme.colors.background.primary,
    padding: theme.spacing(0.25, 0.75),
    borderRadius: theme.shape.radius.default,
    fontSize: theme.typography.bodySmall.fontSize,
  }),
  details: css({
    position: 'absolute',
    top: theme.spacing(1),
    right: theme.spacing(1),
    bottom: theme.spacing(1),
    width: 320,
    overflow: 'auto',
    background: theme.colors.background.primary,
    border: `1px solid ${theme.colors.border.medium}`,
    borderRadius: theme.shape.radius.default,
    padding: theme.spacing(1),
    fontSize: theme.typography.bodySmall.fontSize,
    th: { textAlign: 'left', paddingRight: theme.spacing(1), color: theme.colors.text.secondary, verticalAlign: 'top' },
    td: { wordBreak: 'break-all', whiteSpace: 'pre-wrap' },
  }),
  detailsHeader: css({
    display: 'flex',
    gap: theme.spacing(1),
    alignItems: 'baseline',
    marginBottom: theme.spacing(1),
  }),
  close: css({
    marginLeft: 'auto',
    background: 'none',
    border: 'none',
    color: theme.colors.text.primary,
    cursor: 'pointer',
  }),
});
