import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CollectorMetrics } from '../src/ops/metrics.ts';
import { buildServer } from '../src/server.ts';
import { jsonRequest, jsonSpan, postTraces, waitFor } from './helpers.ts';
import { scrapeMetrics } from './scrape-metrics.ts';
import { pgliteStores } from './stores.ts';

const json = (spans: unknown[]) => JSON.stringify(jsonRequest(spans));

/** The real metrics, also keeping every commit-queue depth it was told, so a test can tell when a group was taken. */
class RecordingMetrics extends CollectorMetrics {
  readonly depths: number[] = [];
  override commitQueueDepth(spans: number): void {
    this.depths.push(spans);
    super.commitQueueDepth(spans);
  }
}

test('/metrics counts what ingest did: spans received, rejected by reason, stored, duplicate; requests by route and status; the commit queue', async () => {
  const metrics = new RecordingMetrics();
  const { store, blockWrites, dispose } = await pgliteStores.open({ metrics, maxQueuedItems: 2 });
  const app = buildServer({ store, metrics });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    const good = Array.from({ length: 5 }, () => jsonSpan());
    const bad = [jsonSpan({ traceId: 'not-hex' }), jsonSpan({ endTimeUnixNano: '1' })];
    assert.equal((await postTraces(url, json([...good, ...bad]))).status, 200); // 5 stored, 2 invalid
    assert.equal((await postTraces(url, json(good.slice(0, 3)))).status, 200); // 3 duplicates
    assert.equal((await postTraces(url, '{"resourceSpans": 7}')).status, 400); // no spans to count

    // with the store held, one export commits (and waits), two wait in the queue, and a third is refused
    const release = await blockWrites();
    const queuedBefore = metrics.depths.length;
    const committing = postTraces(url, json([jsonSpan()]));
    await waitFor(() => metrics.depths.length === queuedBefore + 2, 5_000, 'the export queued, then taken for a commit that waits');
    const waiting = postTraces(url, json([jsonSpan(), jsonSpan()]));
    await waitFor(async () => (await scrapeMetrics(url)).get('choreoscope_commit_queue_spans') === 2, 5_000, 'two spans queued');
    const refused = await postTraces(url, json([jsonSpan()]));
    assert.equal(refused.status, 429);
    await release();
    assert.equal((await committing).status, 200);
    assert.equal((await waiting).status, 200);

    const m = await scrapeMetrics(url);
    assert.equal(m.get('choreoscope_spans_received_total'), 7 + 3 + 1 + 2 + 1);
    assert.equal(m.get('choreoscope_spans_stored_total'), 5 + 1 + 2);
    assert.equal(m.get('choreoscope_spans_duplicate_total'), 3);
    assert.equal(m.get('choreoscope_spans_rejected_total{reason="invalid"}'), 2);
    assert.equal(m.get('choreoscope_spans_rejected_total{reason="overloaded"}'), 1);
    assert.equal(m.get('choreoscope_spans_rejected_total{reason="store_unavailable"}'), 0);
    assert.equal(m.get('choreoscope_commit_queue_spans'), 0);
    assert.equal(m.get('choreoscope_store_commit_errors_total{kind="unavailable"}'), 0);
    const ingest = (status: number) => m.get(`choreoscope_http_request_duration_seconds_count{method="POST",route="/v1/traces",status="${status}"}`);
    assert.equal(ingest(200), 4);
    assert.equal(ingest(400), 1);
    assert.equal(ingest(429), 1);
    assert.equal(m.get('choreoscope_http_request_duration_seconds_bucket{le="+Inf",method="POST",route="/v1/traces",status="200"}'), 4);
    assert.ok((m.get('choreoscope_http_request_duration_seconds_count{method="GET",route="/metrics",status="200"}') ?? 0) >= 1, "earlier scrapes are counted");
    for (const name of ['choreoscope_forward_queue_batches', 'process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds']) {
      assert.ok(m.has(name), `${name} is shown`);
    }
  } finally {
    await app.close();
    await dispose();
  }
});
