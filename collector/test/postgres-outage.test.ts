/**
 * PostgreSQL stopped under a running collector, then started again: meanwhile every export is a 503
 * with Retry-After and /readyz fails; afterwards exports are taken again by the same collector process
 * (its pool reconnects), and every span acknowledged before, during or after is stored. The cluster is
 * this file's own, since the test stops it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgresCluster } from '../../scripts/postgres.mjs';
import { buildServer } from '../src/server.ts';
import { openPostgresStore } from '../src/store/postgres-store.ts';
import { jsonRequest, jsonSpan, postTraces, send, traceId, waitFor } from './helpers.ts';

const SPANS_PER_EXPORT = 2;
const WORKERS = 4;

test('PostgreSQL stopped: 503 with Retry-After and /readyz 503; started again: ingest resumes without a restart, nothing acknowledged missing', async () => {
  const cluster = await startPostgresCluster({ install: false });
  try {
    const store = await openPostgresStore({ databaseUrl: cluster.url, connectTimeoutMs: 1_000 });
    const app = buildServer({ store, unavailableRetryAfterSeconds: 3 });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const acknowledged: string[] = [];
    const refusals: { status: number; retryAfter: string | null; reason: unknown }[] = [];
    let running = true;
    let exporters: Promise<void>[] = [];

    // exporters posting all along, as a real fleet would
    async function exporter(): Promise<void> {
      while (running) {
        const trace = traceId();
        const spans = Array.from({ length: SPANS_PER_EXPORT }, () => jsonSpan({ traceId: trace }));
        const answer = await postTraces(url, JSON.stringify(jsonRequest(spans)));
        if (answer.status === 200) acknowledged.push(trace);
        else {
          refusals.push({ status: answer.status, retryAfter: answer.headers.get('retry-after'), reason: answer.json?.details?.[0]?.reason });
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      }
    }

    try {
      exporters = Array.from({ length: WORKERS }, exporter);
      await waitFor(() => acknowledged.length >= 20, 10_000, 'exports acknowledged while PostgreSQL runs');

      cluster.stop('immediate'); // as a crash: no shutdown checkpoint, recovery when it starts
      await waitFor(() => refusals.length > 0, 10_000, 'the first refusal');
      const acknowledgedBeforeOutage = acknowledged.length;
      await waitFor(() => refusals.length >= 20, 10_000, 'refusals while PostgreSQL is down');
      assert.equal(acknowledged.length, acknowledgedBeforeOutage, 'nothing is acknowledged while PostgreSQL is down');
      for (const refusal of refusals) assert.deepEqual(refusal, { status: 503, retryAfter: '3', reason: 'CHS_ERR_STORE_UNAVAILABLE' });
      const ready = await send(`${url}/readyz`, {});
      assert.equal(ready.status, 503);
      assert.equal(ready.json.error.code, 'CHS_ERR_STORE_UNAVAILABLE');

      cluster.start();
      await waitFor(() => acknowledged.length >= acknowledgedBeforeOutage + 20, 10_000, 'exports acknowledged again, by the same collector');
      assert.equal((await send(`${url}/readyz`, {})).status, 200);
      running = false;
      await Promise.all(exporters);

      const missing: string[] = [];
      for (const trace of acknowledged) {
        if ((await store.spansOfTrace(trace)).length !== SPANS_PER_EXPORT) missing.push(trace);
      }
      assert.deepEqual(missing, [], `${missing.length} of ${acknowledged.length} acknowledged exports are missing`);
    } finally {
      running = false;
      await Promise.allSettled(exporters);
      await app.close();
      await store.close();
    }
  } finally {
    cluster.remove();
  }
});
