#!/usr/bin/env node
// The one test command: installs what the tests need (npm packages; Chromium with apt-get when the
// dashboard's browser tests are to run and it is missing), builds the instrumentation package (the other
// packages import its dist/), type-checks, builds the dashboard, starts a throwaway PostgreSQL cluster
// (scripts/postgres.mjs) when collector tests are to run, then runs the tests with Node's built-in
// runner, and removes the cluster whatever happens. The runner's summary is the last thing printed, so
// CI can read it.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { constants } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildIsStale, dependenciesAreCurrent } from './dependencies.mjs';
import { POSTGRES_VERSION, startPostgresCluster } from './postgres.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
/** Where the dashboard's tests find Chromium (dashboard/test/browser.ts). */
const CHROMIUM = process.env.CHOREOSCOPE_CHROMIUM ?? '/usr/bin/chromium';
const step = (what) => console.log(`\n▶ ${what}`);

function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...options });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

function findTests(dir, found = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) findTests(path, found);
    else if (entry.name.endsWith('.test.ts')) found.push(relative(root, path));
  }
  return found;
}

if (!dependenciesAreCurrent(root)) {
  step('installing dependencies (npm ci)');
  if (run('npm', ['ci', '--no-audit', '--no-fund']) !== 0) process.exit(1);
}

// the collector, its tests and the benchmarks import @choreoscope/instrumentation as users do: from dist/
// (npm ci has just built it on a fresh clone)
if (buildIsStale(root, 'instrumentation')) {
  step('building the instrumentation package (tsc)');
  if (run('npm', ['run', 'build', '--workspace', 'instrumentation']) !== 0) process.exit(1);
}

step('type-checking (tsc: the Node.js code, then the dashboard\'s browser code)');
for (const project of ['tsconfig.json', 'dashboard/tsconfig.json']) {
  if (run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project]) !== 0) {
    console.error(`type-check failed (${project})`);
    process.exit(1);
  }
}
console.log('type-check passed');

step('building the dashboard (esbuild)');
if (run(process.execPath, [join(root, 'dashboard', 'build.mjs')]) !== 0) process.exit(1);

const filter = process.argv.slice(2);
const tests = findTests(root)
  .filter((file) => filter.length === 0 || filter.some((f) => file.includes(f)))
  .sort();
// Ctrl-C or a CI's cancel goes to the runner; once it has exited, so do we, and on exit the cluster is
// removed (quietly: nothing may follow the runner's summary)
let runner;
let cluster;
process.on('exit', () => cluster?.remove());
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => (runner === undefined ? process.exit(128 + constants.signals[signal]) : runner.kill(signal)));
}

// the dashboard's suites drive Debian's Chromium; a fresh machine has none
if (tests.some((file) => file.startsWith('dashboard/') || file === 'examples/test/demo.test.ts') && !existsSync(CHROMIUM)) {
  step('installing Chromium for the dashboard\'s browser tests (apt-get)');
  const apt = (...args) => run('apt-get', args, { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (apt('update', '-q') !== 0 || apt('install', '-y', '-q', '--no-install-recommends', 'chromium') !== 0 || !existsSync(CHROMIUM)) {
    console.error(`cannot install chromium with apt-get (run as root, or install it so that ${CHROMIUM} exists)`);
    process.exit(1);
  }
}

// the collector's suites run against PostgreSQL as well as PGlite
const env = { ...process.env };
if (tests.some((file) => file.startsWith('collector/'))) {
  step(`starting a throwaway PostgreSQL ${POSTGRES_VERSION} cluster`);
  try {
    cluster = await startPostgresCluster({ log: console.log });
  } catch (error) {
    console.error(`cannot start PostgreSQL: ${error.message}`);
    process.exit(1);
  }
  env.CHOREOSCOPE_TEST_DATABASE_URL = cluster.url;
  console.log(`PostgreSQL at ${cluster.url}`);
}

step(`running ${tests.length} test files with node --test`);
runner = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...tests], { cwd: root, stdio: 'inherit', env });
runner.on('exit', (code, signal) => process.exit(code ?? 128 + constants.signals[signal]));
