/**
 * A 200 means committed: the collector is killed with SIGKILL in the middle of concurrent exports,
 * restarted on the same store (PGlite's data directory, or the PostgreSQL database), and every span of
 * every acknowledged export is there.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { TraceResponse } from '../src/api/types.ts';
import { freshDataDir, jsonRequest, jsonSpan, postTraces, removeDir, send, spawnCollector, traceId } from './helpers.ts';
import { dropDatabase, freshDatabase } from './stores.ts';

const EXPORTS = 400;
const SPANS_PER_EXPORT = 3;
const CONCURRENCY = 16;
const KILL_AFTER_ACKS = 150;

/** Where the CLI keeps its spans, new for each run: the flags that point it there. */
const locations = [
  {
    name: 'PGlite',
    async open() {
      const dataDir = await freshDataDir();
      return { args: ['--data-dir', dataDir], dispose: async () => removeDir(join(dataDir, '..')) };
    },
  },
  {
    name: 'PostgreSQL',
    async open() {
      const databaseUrl = await freshDatabase();
      return { args: ['--database-url', databaseUrl], dispose: () => dropDatabase(databaseUrl) };
    },
  },
];

for (const location of locations) {
  describe(`on ${location.name}`, () => {
    test('every span acknowledged before a SIGKILL is found after a restart on the same store', async (t) => {
      const { args, dispose } = await location.open();
      try {
        const first = await spawnCollector(args);
        const acknowledged: string[] = [];
        const failed: string[] = [];
        let next = 0;
        let killed = false;

        async function worker(): Promise<void> {
          while (next < EXPORTS) {
            next += 1;
            const trace = traceId();
            const body = JSON.stringify(jsonRequest(Array.from({ length: SPANS_PER_EXPORT }, () => jsonSpan({ traceId: trace }))));
            try {
              const answer = await postTraces(first.url, body);
              if (answer.status === 200) acknowledged.push(trace);
              else failed.push(`${answer.status}`);
            } catch (error) {
              failed.push((error as Error).message); // the connection died with the process: not acknowledged
              if (killed) return;
            }
            if (!killed && acknowledged.length >= KILL_AFTER_ACKS) {
              killed = true;
              first.child.kill('SIGKILL');
            }
          }
        }
        await Promise.all(Array.from({ length: CONCURRENCY }, worker));
        assert.equal(await first.exited, 'SIGKILL');
        assert.ok(killed, `the collector was killed mid-load (acknowledged ${acknowledged.length})`);
        assert.ok(failed.length > 0, 'some exports were cut off by the kill');
        t.diagnostic(`${acknowledged.length} exports acknowledged before the kill, ${failed.length} cut off`);

        const second = await spawnCollector(args);
        try {
          const lost: string[] = [];
          for (let i = 0; i < acknowledged.length; i += CONCURRENCY) {
            await Promise.all(acknowledged.slice(i, i + CONCURRENCY).map(async (trace) => {
              const answer = await send(`${second.url}/api/traces/${trace}`, {});
              if (answer.status !== 200 || (answer.json as TraceResponse).spans.length !== SPANS_PER_EXPORT) lost.push(trace);
            }));
          }
          assert.deepEqual(lost, [], `${lost.length} of ${acknowledged.length} acknowledged exports lost`);
          // and the restarted collector takes new exports
          assert.equal((await postTraces(second.url, JSON.stringify(jsonRequest([jsonSpan()])))).status, 200);
        } finally {
          second.child.kill('SIGTERM');
          assert.equal(await second.exited, 0, second.output());
        }
      } finally {
        await dispose();
      }
    });
  });
}
