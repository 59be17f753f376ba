/**
 * When the store cannot take spans, ingest says so with a retryable status and Retry-After, and never
 * answers 200 for spans it did not commit. With the real stores: closed, PGlite's database closed
 * underneath it, or busy with a long transaction while the queue fills. (A PostgreSQL server stopped
 * and started again under the collector: postgres-outage.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { ExportTraceServiceRequest, RpcErrorInfo, RpcStatus } from '../src/ingest/otlp-schema.ts';
import { toSpanRecords } from '../src/ingest/to-span-records.ts';
import { buildServer } from '../src/server.ts';
import { createPgliteStore } from '../src/store/pglite-store.ts';
import { CollectorMetrics } from '../src/ops/metrics.ts';
import { freshDataDir, jsonRequest, jsonSpan, postTraces, removeDir, send, startCollector, traceId, waitFor } from './helpers.ts';
import { scrapeMetrics } from './scrape-metrics.ts';
import { forEachStore } from './stores.ts';

const exportOf = (count = 1) => JSON.stringify(jsonRequest(Array.from({ length: count }, () => jsonSpan())));

forEachStore((kind) => {
  test('a closed store: /v1/traces answers 503 with Retry-After in either encoding, /readyz 503, /healthz 200', async () => {
    const collector = await startCollector(kind, { server: { unavailableRetryAfterSeconds: 7 } });
    try {
      assert.equal((await send(`${collector.url}/readyz`, {})).status, 200);
      await collector.store.close();

      const json = await postTraces(collector.url, exportOf());
      assert.equal(json.status, 503);
      assert.equal(json.headers.get('retry-after'), '7');
      assert.equal(json.json.details[0].reason, 'CHS_ERR_STORE_UNAVAILABLE');
      assert.match(json.json.message, /retry after 7 s/);

      const request = { resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: Buffer.alloc(16, 1), spanId: Buffer.alloc(8, 2), startTimeUnixNano: '1', endTimeUnixNano: '2' }] }] }] };
      const protobuf = await postTraces(collector.url, ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(request)).finish(),
        { 'content-type': 'application/x-protobuf' });
      assert.equal(protobuf.status, 503);
      assert.equal(protobuf.headers.get('content-type'), 'application/x-protobuf');
      const status = RpcStatus.decode(protobuf.body) as unknown as { code: number; details: { value: Uint8Array }[] };
      assert.equal(status.code, 14, 'google.rpc.Code UNAVAILABLE');
      assert.equal((RpcErrorInfo.decode(status.details[0]!.value) as unknown as { reason: string }).reason, 'CHS_ERR_STORE_UNAVAILABLE');

      const ready = await send(`${collector.url}/readyz`, {});
      assert.equal(ready.status, 503);
      assert.equal(ready.json.error.code, 'CHS_ERR_STORE_UNAVAILABLE');
      assert.equal(ready.headers.get('retry-after'), '7');
      assert.equal((await send(`${collector.url}/api/traces/${'ab'.repeat(16)}`, {})).status, 503);
      assert.equal((await send(`${collector.url}/healthz`, {})).status, 200);
      // an empty export stores nothing, so the store being down does not matter to it
      assert.equal((await postTraces(collector.url, '{}')).status, 200);
    } finally {
      await collector.close();
    }
  });

  test('a full write queue: 429 with Retry-After at once, and the export goes through once the queue drains', async () => {
    const { store, blockWrites, dispose } = await kind.open({ maxQueuedItems: 2 });
    const app = buildServer({ store, overloadedRetryAfterSeconds: 2 });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const decode = (body: string) => {
        const result = toSpanRecords(JSON.parse(body));
        return result.ok ? result.spans : assert.fail('valid');
      };
      // a long transaction keeps the store's writer waiting, so what comes next stays queued
      const release = await blockWrites();
      const inFlight = store.writeSpans(decode(exportOf(2)));
      await new Promise((resolve) => setImmediate(resolve)); // the writer takes it, and waits on the hold
      const queued = store.writeSpans(decode(exportOf(2))); // now the queue holds 2: full

      const refused = await postTraces(url, exportOf(1));
      assert.equal(refused.status, 429);
      assert.equal(refused.headers.get('retry-after'), '2');
      assert.equal(refused.json.details[0].reason, 'CHS_ERR_INGEST_OVERLOADED');

      await release();
      await Promise.all([inFlight, queued]);
      assert.equal((await postTraces(url, exportOf(1))).status, 200);
    } finally {
      await app.close();
      await dispose();
    }
  });

  test('a commit that hangs past --commit-timeout-ms: 503 with Retry-After, the write goes on, and the retry stores nothing twice', async () => {
    // where the collector forwards what it stored: the late commit must still be forwarded, once
    const forwarded: string[] = [];
    const target = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        forwarded.push(Buffer.concat(chunks).toString());
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    const forward = { url: `http://127.0.0.1:${(target.address() as AddressInfo).port}/v1/traces` };

    const { store, blockWrites, dispose } = await kind.open();
    const app = buildServer({ store, commitTimeoutMs: 300, unavailableRetryAfterSeconds: 4, metrics: new CollectorMetrics(), forward });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const trace = traceId();
      const body = JSON.stringify(jsonRequest([jsonSpan({ traceId: trace }), jsonSpan({ traceId: trace })]));
      const release = await blockWrites(); // another session holds a lock the insert needs, for as long as it likes

      const timedOut = await postTraces(url, body);
      assert.equal(timedOut.status, 503);
      assert.equal(timedOut.headers.get('retry-after'), '4');
      assert.equal(timedOut.json.details[0].reason, 'CHS_ERR_STORE_COMMIT_TIMEOUT');
      assert.match(timedOut.json.message, /did not commit the spans within 300 ms/);
      const during = await scrapeMetrics(url);
      assert.equal(during.get('choreoscope_spans_rejected_total{reason="commit_timeout"}'), 2);
      assert.equal(during.get('choreoscope_spans_stored_total'), 0);
      assert.equal(forwarded.length, 0, 'nothing is forwarded before it is committed');

      await release();
      await waitFor(async () => (await store.spansOfTrace(trace)).length === 2, 10_000, 'the queued write, committed after its answer');
      await waitFor(() => forwarded.length === 1, 10_000, 'the late commit forwarded');
      assert.equal(JSON.parse(forwarded[0]!).resourceSpans[0].scopeSpans[0].spans[0].traceId, trace);

      const retried = await postTraces(url, body); // what the sender does after Retry-After
      assert.equal(retried.status, 200);
      assert.equal((await store.spansOfTrace(trace)).length, 2);
      const after = await scrapeMetrics(url);
      assert.equal(after.get('choreoscope_spans_stored_total'), 2, 'the late commit counts as stored');
      assert.equal(after.get('choreoscope_spans_duplicate_total'), 2, 'the retry found them stored');
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(forwarded.length, 1, 'the retry, storing nothing new, is not forwarded again');
    } finally {
      await app.close();
      await dispose();
      target.closeAllConnections();
      await new Promise((resolve) => target.close(resolve));
    }
  });
});

test('a PGlite database that dies under the store: 503, and none of the refused spans is there after reopening', async () => {
  const dataDir = await freshDataDir();
  const db = await PGlite.create({ dataDir });
  const store = await createPgliteStore(db);
  const app = buildServer({ store });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    const kept = jsonSpan();
    assert.equal((await postTraces(url, JSON.stringify(jsonRequest([kept])))).status, 200);
    await db.close(); // as if the engine had crashed: the store does not know
    const refused = jsonSpan();
    const answer = await postTraces(url, JSON.stringify(jsonRequest([refused])));
    assert.equal(answer.status, 503);
    assert.equal(answer.headers.get('retry-after'), '5');
    assert.match(answer.json.message, /unavailable/);
    assert.equal((await send(`${url}/readyz`, {})).status, 503);
  } finally {
    await app.close();
    await store.close();
  }
  const reopened = await PGlite.create({ dataDir });
  const check = await createPgliteStore(reopened);
  try {
    const { rows } = await reopened.query<{ n: number }>('SELECT count(*)::int AS n FROM spans');
    assert.equal(rows[0]!.n, 1, 'only the acknowledged span was stored');
  } finally {
    await check.close();
    removeDir(join(dataDir, '..'));
  }
});
