#!/usr/bin/env node
// The one test command: installs what the tests need, type-checks, then runs every test with Node's
// built-in runner. The runner's summary is the last thing printed, so CI can read it.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const step = (what) => console.log(`\n▶ ${what}`);

function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...options });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

function depsAreCurrent() {
  const marker = join(root, 'node_modules', '.package-lock.json');
  if (!existsSync(marker)) return false;
  return statSync(marker).mtimeMs >= statSync(join(root, 'package-lock.json')).mtimeMs;
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

if (!depsAreCurrent()) {
  step('installing dependencies (npm ci)');
  if (run('npm', ['ci', '--no-audit', '--no-fund']) !== 0) process.exit(1);
}

step('type-checking (tsc)');
if (run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json']) !== 0) {
  console.error('type-check failed');
  process.exit(1);
}
console.log('type-check passed');

const filter = process.argv.slice(2);
const tests = findTests(root)
  .filter((file) => filter.length === 0 || filter.some((f) => file.includes(f)))
  .sort();
step(`running ${tests.length} test files with node --test`);
const status = run(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...tests]);
process.exit(status);
