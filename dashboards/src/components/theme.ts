// The views core's colours from Grafana's theme, so the topology follows the dashboard's light or dark mode.
import type { GrafanaTheme2 } from '@grafana/data';
import type { Theme } from '@skystream/views';

export function viewTheme(t: GrafanaTheme2): Theme {
  const c = t.colors;
  return {
    background: c.background.primary,
    text: c.text.primary,
    groupFill: [c.background.secondary, c.background.canvas],
    groupStroke: c.border.strong,
    state: {
      up: t.visualization.getColorByName('green'),
      down: t.visualization.getColorByName('red'),
      unknown: c.text.disabled,
    },
    link: { layer2: t.visualization.getColorByName('blue'), default: t.visualization.getColorByName('purple') },
    highlight: t.visualization.getColorByName('orange'),
    selected: c.text.maxContrast,
  };
}
