/**
 * The PGlite store's data directory: a new or empty one is initialised (in a child process, so the
 * collector never holds initdb's memory) and renamed into place, a half-made one from an interrupted
 * start is cleared away, and a directory holding something else is refused with a message naming it, as
 * is one another collector uses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { toSpanRecords } from '../src/ingest/to-span-records.ts';
import { LOCK_FILE } from '../src/store/data-dir-lock.ts';
import { openPgliteStore } from '../src/store/pglite-store.ts';
import { jsonRequest, jsonSpan, makeTempDir, removeDir, traceId } from './helpers.ts';

async function storeOneSpanAndReopen(dataDir: string): Promise<void> {
  const trace = traceId();
  const decoded = toSpanRecords(jsonRequest([jsonSpan({ traceId: trace })]));
  assert.ok(decoded.ok);
  const store = await openPgliteStore({ dataDir });
  assert.deepEqual(await store.writeSpans(decoded.spans), { stored: 1, duplicates: 0 });
  await store.close();
  const reopened = await openPgliteStore({ dataDir });
  try {
    assert.equal((await reopened.spansOfTrace(trace)).length, 1, 'the span is there after reopening');
  } finally {
    await reopened.close();
  }
}

test('a data directory that does not exist yet is created, nested, and a half-made one left by an interrupted start is cleared', async () => {
  const root = makeTempDir();
  try {
    const parent = join(root, 'var', 'lib');
    mkdirSync(join(parent, 'collector.initdb-4242', 'base'), { recursive: true }); // a start killed during initdb
    await storeOneSpanAndReopen(join(parent, 'collector'));
    assert.deepEqual(readdirSync(parent), ['collector'], 'nothing but the data directory is left beside it');
    assert.ok(readdirSync(join(parent, 'collector')).includes('PG_VERSION'));
  } finally {
    removeDir(root);
  }
});

test('an existing empty directory is initialised in place', async () => {
  const root = makeTempDir();
  try {
    mkdirSync(join(root, 'data'));
    await storeOneSpanAndReopen(join(root, 'data'));
  } finally {
    removeDir(root);
  }
});

test('a directory holding other files is refused, untouched, with a message naming it', async () => {
  const root = makeTempDir();
  try {
    writeFileSync(join(root, 'notes.txt'), 'not a database');
    await assert.rejects(openPgliteStore({ dataDir: root }), new RegExp(`${root} is neither empty nor a PGlite data directory`));
    assert.deepEqual(readdirSync(root), ['notes.txt']);
  } finally {
    removeDir(root);
  }
});

test('a data directory another collector uses is refused with a message naming the holder; a lock left by a dead process is taken over', async () => {
  const root = makeTempDir();
  const dataDir = join(root, 'data');
  try {
    const first = await openPgliteStore({ dataDir });
    try {
      await assert.rejects(openPgliteStore({ dataDir }), (error: Error) => {
        assert.equal(error.name, 'DataDirInUseError');
        assert.match(error.message, new RegExp(`the data directory ${dataDir} is in use by another collector \\(pid ${process.pid} on `));
        return true;
      });
    } finally {
      await first.close();
    }
    // a collector killed with SIGKILL leaves its lock behind; its pid is then no live process's
    writeFileSync(join(dataDir, LOCK_FILE), `999999999\n${hostname()}\n2026-01-01T00:00:00.000Z\n`);
    await storeOneSpanAndReopen(dataDir);
    assert.ok(!readdirSync(dataDir).includes(LOCK_FILE), 'closing lets the directory go');

    // restarted in a container, a collector gets its old PID back: its own PID in a lock it did not take is a former process's
    writeFileSync(join(dataDir, LOCK_FILE), `${process.pid}\n${hostname()}\n2026-01-01T00:00:00.000Z\n1\n\n`);
    await storeOneSpanAndReopen(dataDir);
    // another live process has the recorded PID, but started at another time: not the holder
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    try {
      writeFileSync(join(dataDir, LOCK_FILE), `${other.pid}\n${hostname()}\n2026-01-01T00:00:00.000Z\n1\n\n`);
      await storeOneSpanAndReopen(dataDir);
    } finally {
      other.kill();
    }
    assert.deepEqual(readdirSync(dataDir).filter((name) => name.startsWith(LOCK_FILE)), [], 'no lock, and nothing set aside, left behind');
  } finally {
    removeDir(root);
  }
});
