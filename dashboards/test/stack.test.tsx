// The panel on a real Skystream stack (run by test/integration/panel.test.ts, which starts an all-in-one
// watching a netns lab with a capture and traffic, and passes its address): the topology and the flow
// matrix read from the API by the panel itself, and drawn the same from frames made of the API's answers
// (what the ClickHouse data source hands the panel has these columns).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import React from 'react';
import { act, cleanup, render, screen, within } from '@testing-library/react';
import { buildModel, toNodeGraphFrames, type ApiGraph, type MatrixRow } from '@skystream/views';
import { NetworkPanel } from '../src/components/NetworkPanel';
import { DEFAULTS, type PanelOptions } from '../src/types';
import { frame, matrixFrame, panelProps } from './fixtures';

const api = process.env.SKYSTREAM_API ?? '';
const lab = process.env.SKYSTREAM_LAB ?? '';
const client = process.env.SKYSTREAM_LAB_CLIENT ?? '';
const server = process.env.SKYSTREAM_LAB_SERVER ?? '';
const port = process.env.SKYSTREAM_LAB_PORT ?? '';

const opts = (o: Partial<PanelOptions>): PanelOptions => ({ ...DEFAULTS, apiUrl: api, ...o });

async function until<T>(what: string, f: () => T | undefined, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) {
      return v;
    }
    if (Date.now() > end) {
      throw new Error(`timed out waiting for ${what}: ${document.body.textContent?.slice(0, 500)}`);
    }
    await act(() => new Promise((r) => setTimeout(r, 100)));
  }
}

const summary = () => screen.queryByRole('status', { name: 'Topology summary' })?.textContent ?? '';

test('the stack is given (SKYSTREAM_API, SKYSTREAM_LAB…)', () => {
  assert.ok(api && lab && client && server && port, 'run through test/integration/panel.test.ts');
});

test('topology from the API: the lab found by its name, the same picture from frames of the API answer', async (t) => {
  t.after(cleanup);
  const { unmount } = render(<NetworkPanel {...panelProps(opts({ source: 'api', search: lab }))} />);
  const live = await until('the lab in the panel', () => (/· 4 match$/.test(summary()) ? summary() : undefined));
  const nodes = Number(/^(\d+) nodes/.exec(live)![1]);
  assert.ok(nodes > 4, live);
  unmount();

  const graph = (await (await fetch(`${api}/api/topology`)).json()) as ApiGraph;
  const { nodes: n, edges: e } = toNodeGraphFrames(buildModel(graph));
  render(<NetworkPanel {...panelProps(opts({ search: lab }), [frame('nodes', n), frame('edges', e)])} />);
  const fromFrames = await until('the frames drawn', () => (/· 4 match$/.test(summary()) ? summary() : undefined));
  assert.equal(Number(/^(\d+) nodes/.exec(fromFrames)![1]), graph.Nodes.length);
});

test("flow matrix from the API: the lab's client → server pair, with the server's process", async (t) => {
  t.after(cleanup);
  const rowOf = () =>
    screen
      .queryAllByRole('row')
      .map((r) => r.textContent ?? '')
      .find((x) => x.includes(client) && x.includes(`${server}:${port}/udp`));
  const { unmount } = render(<NetworkPanel {...panelProps(opts({ source: 'api', view: 'flowmatrix' }))} />);
  const row = await until('the pair in the table', rowOf);
  assert.match(row, /python3/);
  assert.ok(screen.getByLabelText(`Service: python3 @ ${server}:${port}/udp`));
  unmount();

  const now = Date.now();
  const rows = (await (await fetch(`${api}/api/flowmatrix?from=${now - 3_600_000}&to=${now}`)).json()) as MatrixRow[];
  render(<NetworkPanel {...panelProps(opts({ view: 'flowmatrix' }), [matrixFrame(rows)])} />);
  const table = screen.getByRole('table', { name: 'Flow matrix' });
  assert.ok(
    within(table)
      .getAllByRole('row')
      .some((r) => (r.textContent ?? '').includes(`${server}:${port}/udp`))
  );
});
