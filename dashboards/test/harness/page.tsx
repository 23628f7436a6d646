// A page showing the panel as Grafana would (dark theme, the panel's props), without Grafana: the topology
// and the flow matrix side by side, from the Skystream API given in the URL (?api=…&search=…). Bundled with
// esbuild by test/integration/panel.test.ts and opened in Chromium.
import React from 'react';
import { createRoot } from 'react-dom/client';
import { createTheme, ThemeContext } from '@grafana/data';
import { NetworkPanel } from '../../src/components/NetworkPanel';
import { DEFAULTS, type PanelOptions } from '../../src/types';
import { panelProps } from '../fixtures';

const q = new URLSearchParams(location.search);
const theme = createTheme({ colors: { mode: q.get('theme') === 'light' ? 'light' : 'dark' } });
const base: PanelOptions = { ...DEFAULTS, source: 'api', apiUrl: q.get('api') ?? '', search: q.get('search') ?? '' };
document.body.style.background = theme.colors.background.canvas;
document.body.style.margin = '0';
document.body.style.fontFamily = theme.typography.fontFamily;
document.body.style.fontSize = `${theme.typography.fontSize}px`;
document.body.style.color = theme.colors.text.primary;

function Panel({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <section
      aria-label={title}
      style={{
        background: theme.colors.background.primary,
        border: `1px solid ${theme.colors.border.weak}`,
        borderRadius: 2,
        padding: 8,
      }}
    >
      <h2 style={{ color: theme.colors.text.primary, font: '500 14px Inter, sans-serif', margin: '0 0 8px' }}>
        {title}
      </h2>
      {children}
    </section>
  );
}

createRoot(document.getElementById('root')!).render(
  <ThemeContext.Provider value={theme}>
    <div style={{ display: 'flex', gap: 8, padding: 8 }}>
      <Panel title="Topology">
        <NetworkPanel {...panelProps(base, [], { width: 860, height: 760 })} />
      </Panel>
      <Panel title="Flow matrix">
        <NetworkPanel {...panelProps<PanelOptions>({ ...base, view: 'flowmatrix' }, [], { width: 620, height: 760 })} />
      </Panel>
    </div>
  </ThemeContext.Provider>
);
