// npm test: the panel's tests under node's test runner with a jsdom global scope (test/dom-setup.cjs).
// stack.test.tsx needs a running Skystream stack; test/integration/panel.test.ts runs it against one.
const { spawnSync } = require('node:child_process');
const { readdirSync } = require('node:fs');
const path = require('node:path');

const dir = __dirname;
const files = readdirSync(dir)
  .filter((f) => /\.test\.tsx?$/.test(f) && f !== 'stack.test.tsx')
  .map((f) => path.join(dir, f));
const r = spawnSync(
  process.execPath,
  ['--require', path.join(dir, 'dom-setup.cjs'), '--import', 'tsx', '--test', '--test-reporter=spec', ...files],
  { stdio: 'inherit', env: { TZ: 'UTC', ...process.env } }
);
process.exit(r.status ?? 1);
