// The flow matrix in the panel: who talks to whom as a two-column flow diagram (clients on the left,
// services — address, port, process — on the right, band width = volume), and the matrix itself as a
// table. Clicking a client or a service narrows the table to it.
import React, { useMemo, useState } from 'react';
import { css } from '@emotion/css';
import type { GrafanaTheme2 } from '@grafana/data';
import { useStyles2, useTheme2 } from '@grafana/ui';
import { sankey, sankeyLinkHorizontal, type SankeyLink, type SankeyNode } from 'd3-sankey';
import {
  OTHER_CLIENTS,
  OTHER_SERVICES,
  clientLabel,
  flowDiagram,
  formatVolume,
  serviceLabel,
  volume,
  type DiagramLink,
  type DiagramNode,
  type MatrixRow,
  type Metric,
} from '@skystream/views';

interface Props {
  rows: MatrixRow[];
  metric: Metric;
  maxPerSide: number;
  showTable: boolean;
  width: number;
  height: number;
}

type Node = SankeyNode<DiagramNode, DiagramLink>;
type Link = SankeyLink<DiagramNode, DiagramLink>;

export function FlowMatrixView({ rows, metric, maxPerSide, showTable, width, height }: Props) {
  const theme = useTheme2();
  const styles = useStyles2(getStyles);
  const [focus, setFocus] = useState<DiagramNode>();
  const diagram = useMemo(() => flowDiagram(rows, metric, maxPerSide), [rows, metric, maxPerSide]);
  const chartHeight = showTable ? Math.max(160, Math.round(height * 0.6)) : height;
  const labelWidth = Math.min(280, Math.round(width * 0.32));

  const laid = useMemo(() => {
    if (diagram.links.length === 0 || width - 2 * labelWidth < 40) {
      return undefined;
    }
    const layout = sankey<DiagramNode, DiagramLink>()
      .nodeId((n) => n.id)
      .nodeWidth(12)
      .nodePadding(Math.max(2, Math.min(10, chartHeight / (diagram.nodes.length * 2))))
      .nodeSort((a, b) => b.value - a.value)
      .extent([
        [labelWidth, 6],
        // A few pairs need no wall of colour: about 60 px per node of the longer side.
        [
          width - labelWidth,
          Math.min(
            chartHeight - 6,
            6 + 60 * Math.max(sideCount(diagram.nodes, 'client'), sideCount(diagram.nodes, 'service'))
          ),
        ],
      ]);
    return layout({ nodes: diagram.nodes.map((n) => ({ ...n })), links: diagram.links.map((l) => ({ ...l })) });
  }, [diagram, width, chartHeight, labelWidth]);

  const palette = [
    'blue',
    'green',
    'orange',
    'purple',
    'yellow',
    'red',
    'light-blue',
    'light-green',
    'dark-orange',
    'light-purple',
  ];
  const colour = (n: Node) =>
    n.label === OTHER_CLIENTS || n.label === OTHER_SERVICES
      ? theme.colors.text.disabled
      : theme.visualization.getColorByName(palette[(n.index ?? 0) % palette.length]!);
  const path = sankeyLinkHorizontal<DiagramNode, DiagramLink>();
  const shown = focus
    ? rows.filter((r) => (focus.side === 'client' ? clientLabel(r) === focus.label : serviceLabel(r) === focus.label))
    : rows;
  const sorted = [...shown].sort((a, b) => volume(b, metric) - volume(a, metric)).slice(0, 500);
  const fmt = (v: number) => formatVolume(v, metric);

  return (
    <div className={styles.wrapper} style={{ width, height }}>
      {laid ? (
        <svg width={width} height={chartHeight} role="img" aria-label="Flow diagram">
          <g fill="none">
            {(laid.links as Link[]).map((l) => {
              const s = l.source as Node;
              const t = l.target as Node;
              const lit = !focus || focus.id === s.id || focus.id === t.id;
              return (
                <path
                  key={`${s.id}>${t.id}`}
                  d={path(l) ?? ''}
                  stroke={colour(s)}
                  strokeOpacity={lit ? 0.45 : 0.1}
                  strokeWidth={Math.max(1, l.width ?? 1)}
                  data-testid="flow-band"
                >
                  <title>{`${s.label} → ${t.label}: ${fmt(l.value)}`}</title>
                </path>
              );
            })}
          </g>
          {(laid.nodes as Node[]).map((n) => {
            const left = n.side === 'client';
            return (
              <g
                key={n.id}
                className={styles.node}
                onClick={() => setFocus((f) => (f?.id === n.id ? undefined : n))}
                aria-label={`${left ? 'Client' : 'Service'}: ${n.label}`}
              >
                <rect
                  x={n.x0}
                  y={n.y0}
                  width={(n.x1 ?? 0) - (n.x0 ?? 0)}
                  height={Math.max(1, (n.y1 ?? 0) - (n.y0 ?? 0))}
                  fill={colour(n)}
                />
                <text
                  x={left ? (n.x0 ?? 0) - 6 : (n.x1 ?? 0) + 6}
                  y={((n.y0 ?? 0) + (n.y1 ?? 0)) / 2}
                  dy="0.35em"
                  textAnchor={left ? 'end' : 'start'}
                  fill={theme.colors.text.primary}
                  fontSize={theme.typography.bodySmall.fontSize}
                  fontWeight={focus?.id === n.id ? 'bold' : 'normal'}
                >
                  {clip(`${n.label} · ${fmt(n.value)}`, labelWidth)}
                </text>
              </g>
            );
          })}
        </svg>
      ) : (
        <div className={styles.empty} style={{ height: chartHeight }}>
          No traffic in this time range
        </div>
      )}
      {showTable && (
        <div className={styles.tableWrap} style={{ height: height - chartHeight }}>
          <table aria-label="Flow matrix" className={styles.table}>
            <thead>
              <tr>
                <th>Client</th>
                <th>Client process</th>
                <th>Service</th>
                <th>Server process</th>
                <th>Sent</th>
                <th>Received</th>
                <th>Flows</th>
              </tr>
            </thead>
            <tbody>
              {sorted.map((r, i) => (
                <tr key={i}>
                  <td>{r.Client && r.Client !== r.ClientIP ? `${r.Client} ${r.ClientIP}` : r.ClientIP}</td>
                  <td>{r.ClientProcName}</td>
                  <td>{`${r.ServerIP}:${r.Port}/${r.Protocol.toLowerCase()}`}</td>
                  <td>{r.ServerProcName}</td>
                  <td>
                    {formatVolume(
                      metric === 'packets' ? r.ClientToServerPackets : r.ClientToServerBytes,
                      metric === 'packets' ? 'packets' : 'bytes'
                    )}
                  </td>
                  <td>
                    {formatVolume(
                      metric === 'packets' ? r.ServerToClientPackets : r.ServerToClientBytes,
                      metric === 'packets' ? 'packets' : 'bytes'
                    )}
                  </td>
                  <td>{r.Flows}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

/** A label cut to what fits in `px` at the panel's small font (about 6.5 px a character). */
const clip = (text: string, px: number) => {
  const fits = Math.max(4, Math.floor((px - 10) / 6.5));
  return text.length > fits ? `${text.slice(0, fits - 1)}…` : text;
};

const sideCount = (nodes: DiagramNode[], side: DiagramNode['side']) => nodes.filter((n) => n.side === side).length;

const getStyles = (theme: GrafanaTheme2) => ({
  wrapper: css({ display: 'flex', flexDirection: 'column', fontSize: theme.typography.bodySmall.fontSize }),
  node: css({ cursor: 'pointer' }),
  empty: css({ display: 'flex', alignItems: 'center', justifyContent: 'center', color: theme.colors.text.secondary }),
  tableWrap: css({ overflow: 'auto', borderTop: `1px solid ${theme.colors.border.weak}` }),
  table: css({
    width: '100%',
    borderCollapse: 'collapse',
    'th, td': {
      padding: theme.spacing(0.25, 1),
      textAlign: 'left',
      borderBottom: `1px solid ${theme.colors.border.weak}`,
    },
    th: {
      position: 'sticky',
      top: 0,
      background: theme.colors.background.secondary,
      color: theme.colors.text.secondary,
    },
  }),
});
