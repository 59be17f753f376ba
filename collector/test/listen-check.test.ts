import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { makeTempDir, removeDir, runCollectorToExit } from './helpers.ts';

test('a collector on a port in use exits 1 saying so in one line, before opening its store', async () => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const { port } = taken.address() as AddressInfo;
  const dir = makeTempDir();
  const dataDir = join(dir, 'data');
  try {
    const run = await runCollectorToExit(['--port', String(port), '--data-dir', dataDir]);
    assert.equal(run.code, 1, run.stderr);
    assert.equal(run.stderr, `cannot listen on 127.0.0.1:${port}: the port is already in use (another collector? pick another with --port or CHOREOSCOPE_PORT)\n`);
    assert.equal(run.stdout, '');
    assert.equal(existsSync(dataDir), false, 'the store was never opened');
  } finally {
    taken.close();
    removeDir(dir);
  }
});

test('a collector told to listen on an address no interface has exits 1 naming it, before opening its store', async () => {
  const dir = makeTempDir();
  const dataDir = join(dir, 'data');
  try {
    // 192.0.2.0/24 is TEST-NET-1, reserved for documentation: no host has it
    const run = await runCollectorToExit(['--host', '192.0.2.1', '--port', '4318', '--data-dir', dataDir]);
    assert.equal(run.code, 1, run.stderr);
    assert.equal(run.stderr, 'cannot listen on 192.0.2.1:4318: no network interface here has that address (pick another with --host or CHOREOSCOPE_HOST)\n');
    assert.equal(existsSync(dataDir), false, 'the store was never opened');
  } finally {
    removeDir(dir);
  }
});
