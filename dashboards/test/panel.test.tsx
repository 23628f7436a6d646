// The panel rendered in a DOM (jsdom) from the frames Grafana would hand it: the topology's model, search,
// node details and traffic on links; the flow matrix's diagram and table; the empty paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import React from 'react';
import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { NetworkPanel } from '../src/components/NetworkPanel';
import { DEFAULTS, type PanelOptions } from '../src/types';
import { graphFrames, LAB, MATRIX, matrixFrame, panelProps } from './fixtures';

const opts = (o: Partial<PanelOptions> = {}): PanelOptions => ({ ...DEFAULTS, ...o });
const tick = () => act(() => new Promise((r) => setTimeout(r, 20)));

test('topology from Node Graph frames: nodes, links, states, search and details', async (t) => {
  t.after(cleanup);
  render(<NetworkPanel {...panelProps(opts(), graphFrames(LAB))} />);
  await tick();
  const status = screen.getByRole('status', { name: 'Topology summary' });
  assert.equal(status.textContent, '6 nodes · 1 links · 1 down');
  assert.ok(screen.getByTestId('skystream-topology-canvas'));

  // Search by address: the matching interface; Enter selects it and shows its metadata.
  const search = screen.getByLabelText('Search nodes');
  fireEvent.change(search, { target: { value: '198.18.0.2' } });
  await tick();
  assert.match(status.textContent ?? '', /· 1 match$/);
  fireEvent.keyDown(search, { key: 'Enter' });
  await tick();
  const details = screen.getByRole('complementary', { name: 'Node details' });
  assert.match(details.textContent ?? '', /veth-b/);
  const rows = Object.fromEntries(
    within(details)
      .getAllByRole('row')
      .map((r) => [r.querySelector('th')!.textContent, r.querySelector('td')!.textContent])
  );
  assert.equal(rows.IPV4, '198.18.0.2/24');
  assert.equal(rows.State, 'DOWN');
  assert.equal(rows.Host, 'lab-host');
  fireEvent.click(screen.getByLabelText('Close details'));
  await tick();
  assert.equal(screen.queryByRole('complementary', { name: 'Node details' }), null);

  // By type: both network namespaces.
  fireEvent.change(search, { target: { value: 'netns' } });
  await tick();
  assert.match(status.textContent ?? '', /· 2 match$/);
});

test('topology from the options: the highlight option fills the search', async (t) => {
  t.after(cleanup);
  render(<NetworkPanel {...panelProps(opts({ search: 'lab-' }), graphFrames(LAB))} />);
  await tick();
  assert.match(screen.getByRole('status', { name: 'Topology summary' }).textContent ?? '', /· 3 match$/);
});

test('topology from an edges frame alone (allowed by the Node Graph contract)', async (t) => {
  t.after(cleanup);
  const [, edges] = graphFrames(LAB);
  render(<NetworkPanel {...panelProps(opts(), [edges!])} />);
  await tick();
  assert.match(screen.getByRole('status', { name: 'Topology summary' }).textContent ?? '', /^6 nodes · 1 links/);
});

test('flow matrix from a table frame: a band per client → service, the table, narrowing to a service', async (t) => {
  t.after(cleanup);
  render(<NetworkPanel {...panelProps(opts({ view: 'flowmatrix' }), [matrixFrame(MATRIX)])} />);
  await tick();
  const svg = screen.getByRole('img', { name: 'Flow diagram' });
  assert.equal(svg.querySelectorAll('[data-testid="flow-band"]').length, 3);
  assert.ok(screen.getByLabelText('Client: curl @ lab-host 198.18.0.1'));
  const service = screen.getByLabelText('Service: python3 @ 198.18.0.2:8080/tcp');
  assert.match(service.textContent ?? '', /58.4 kB/); // 1200 + 900 + 56000 + 300 bytes
  const table = screen.getByRole('table', { name: 'Flow matrix' });
  assert.equal(within(table).getAllByRole('row').length, 1 + 3);
  // Biggest first.
  assert.deepEqual(
    within(table)
      .getAllByRole('row')
      .slice(1)
      .map((r) => r.querySelectorAll('td')[1]!.textContent),
    ['curl', 'wget', 'resolver']
  );
  fireEvent.click(screen.getByLabelText('Service: dnsmasq @ 198.18.0.2:53/udp'));
  await tick();
  assert.equal(within(table).getAllByRole('row').length, 1 + 1);
  assert.match(within(table).getAllByRole('row')[1]!.textContent ?? '', /198\.18\.0\.2:53\/udp/);
});

test('flow matrix by packets, and "other" past the limit per side', async (t) => {
  t.after(cleanup);
  render(
    <NetworkPanel
      {...panelProps(opts({ view: 'flowmatrix', metric: 'packets', maxPerSide: 1 }), [matrixFrame(MATRIX)])}
    />
  );
  await tick();
  assert.ok(screen.getByLabelText('Client: other clients'));
  assert.ok(screen.getByLabelText('Service: other services'));
  assert.match(screen.getByLabelText('Client: curl @ lab-host 198.18.0.1').textContent ?? '', /50 pkts/);
});

test('no data: the topology and the matrix say what they need', async (t) => {
  t.after(cleanup);
  const { unmount } = render(<NetworkPanel {...panelProps(opts(), [])} />);
  await tick();
  assert.match(document.body.textContent ?? '', /nodes and edges/);
  unmount();
  render(<NetworkPanel {...panelProps(opts({ view: 'flowmatrix' }), [matrixFrame([])])} />);
  await tick();
  assert.match(document.body.textContent ?? '', /No traffic in this time range/);
});
