#!/usr/bin/env node
// `npm run demo`: installs the dependencies on a fresh clone (and builds the dashboard and the
// instrumentation), then runs the demo (examples/src/demo/main.ts) in this process, so Ctrl-C reaches it.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildIsStale, dependenciesAreCurrent } from './dependencies.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const run = (cmd, args) => spawnSync(cmd, args, { cwd: root, stdio: 'inherit' }).status ?? 1;

if (!dependenciesAreCurrent(root)) {
  console.log('▶ installing dependencies (npm ci; a minute on a fresh clone)');
  if (run('npm', ['ci', '--no-audit', '--no-fund']) !== 0) process.exit(1);
}
// built, and built since the sources last changed
const stale = ['dashboard', 'instrumentation'].some((pkg) => buildIsStale(root, pkg));
if (stale) {
  console.log('▶ building the dashboard and the instrumentation');
  if (run('npm', ['run', 'prepare']) !== 0) process.exit(1);
}
const { register } = await import('tsx/esm/api');
register();
await import(pathToFileURL(join(root, 'examples', 'src', 'demo', 'main.ts')).href);
