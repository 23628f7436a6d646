// The built plugin (npm run build → dist/) as Grafana and its plugin validator see it, offline: the
// validator itself downloads a Go binary from GitHub and cannot run here, so its archive checks are
// repeated: module.js (AMD, our externals), plugin.json (schema fields, id, versions), README not the
// template, CHANGELOG, an allowed licence, logos present and safe, the standard build tooling.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.join(__dirname, '..');
const dist = path.join(root, 'dist');
const read = (p: string) => readFileSync(path.join(dist, p), 'utf8');

test('dist: module.js is an AMD module using Grafana-provided React and @grafana/*', () => {
  assert.ok(existsSync(path.join(dist, 'module.js')), 'run npm run build in dashboards/ first');
  const js = read('module.js');
  assert.match(js, /^\/\* \[create-plugin\] version: 7\.1\.7 \*\//, 'built by the create-plugin toolchain');
  assert.match(js, /define\(\[/, 'AMD, as Grafana loads plugins');
  for (const ext of ['react', '@grafana/data', '@grafana/ui', '@grafana/runtime']) {
    assert.ok(js.includes(`"${ext}"`), `${ext} left to Grafana`);
  }
  assert.ok(existsSync(path.join(dist, 'module.js.map')), 'source map');
});

test('dist: plugin.json is a valid panel plugin description', () => {
  const p = JSON.parse(read('plugin.json'));
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  assert.equal(p.type, 'panel');
  assert.match(p.id, /^[a-z0-9]+-[a-z0-9]+-panel$/, 'org-name-type');
  assert.equal(p.id, 'skystream-network-panel');
  assert.ok(p.name && p.info.description && p.info.author.name);
  assert.equal(p.info.version, pkg.version, 'version substituted from package.json');
  assert.match(p.info.updated, /^\d{4}-\d{2}-\d{2}$/, 'date substituted');
  assert.match(p.dependencies.grafanaDependency, /^>=\d+\.\d+\.\d+$/);
  for (const logo of Object.values(p.info.logos) as string[]) {
    assert.ok(existsSync(path.join(dist, logo)), logo);
    const svg = read(logo);
    assert.ok(!/<script|on\w+=|javascript:/i.test(svg), `${logo}: no script in the SVG`);
  }
  for (const s of p.info.screenshots as Array<{ path: string }>) {
    assert.ok(existsSync(path.join(dist, s.path)), s.path);
  }
});

test('dist: README (ours, not the template), CHANGELOG with this version, Apache-2.0 licence', () => {
  const readme = read('README.md');
  assert.ok(!/%VERSION%|%TODAY%/.test(readme));
  assert.ok(!/Grafana panel plugin template|This template/i.test(readme), 'not the scaffold README');
  assert.match(readme, /Topology/);
  assert.match(
    read('CHANGELOG.md'),
    new RegExp(`## ${JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).version.replace(/\./g, '\\.')}`)
  );
  assert.match(read('LICENSE'), /Apache License\s+Version 2\.0/);
});

test('sources: the standard frontend build tooling (the validator looks for it)', () => {
  const cfg = readFileSync(path.join(root, '.config/webpack/webpack.config.ts'), 'utf8');
  assert.ok(cfg.includes('@grafana/create-plugin'));
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  assert.equal(pkg.type, undefined, 'CommonJS package (Grafana packages fail as native ESM under node)');
  assert.equal(pkg.dependencies['@grafana/ui'], '13.1.0');
  assert.match(pkg.dependencies.react, /^\^18\.3/);
});
