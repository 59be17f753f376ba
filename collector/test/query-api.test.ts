import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiErrorBody, SpanSearchResponse, TraceResponse } from '../src/api/types.ts';
import { jsonRequest, jsonSpan, postTraces, send, startCollector, traceId, type RunningCollector } from './helpers.ts';
import { forEachStore } from './stores.ts';

forEachStore((kind) => {
  let collector: RunningCollector;
  const trace = traceId();
  const key = 'order-7 / späti';
  before(async () => {
    collector = await startCollector(kind);
    const keyed = (start: string, name: string) => jsonSpan({
      traceId: trace,
      name,
      startTimeUnixNano: start,
      endTimeUnixNano: '1800000000000000000',
      attributes: [{ key: 'choreoscope.business_key', value: { stringValue: key } }],
    });
    const spans = [keyed('1700000000300000000', 'third'), keyed('1700000000100000000', 'first'), keyed('1700000000200000000', 'second')];
    assert.equal((await postTraces(collector.url, JSON.stringify(jsonRequest(spans)))).status, 200);
  });
  after(() => collector.close());

  const get = (path: string) => send(`${collector.url}${path}`, {});
  const errorCode = (body: unknown) => (body as ApiErrorBody).error.code;

  test('a trace is answered with its spans by start time, whatever the case of its id', async () => {
    const answer = await get(`/api/traces/${trace.toUpperCase()}`);
    assert.equal(answer.status, 200);
    const body = answer.json as TraceResponse;
    assert.equal(body.traceId, trace);
    assert.deepEqual(body.spans.map((s) => s.name), ['first', 'second', 'third']);
  });

  test('a malformed trace id is a 400, an unknown one a 404, each with its catalogue code', async () => {
    for (const bad of ['abc', 'g'.repeat(32), '0'.repeat(32), `${trace}00`]) {
      const answer = await get(`/api/traces/${bad}`);
      assert.equal(answer.status, 400, bad);
      assert.equal(errorCode(answer.json), 'CHS_ERR_TRACE_ID_INVALID');
    }
    const unknown = await get(`/api/traces/${traceId()}`);
    assert.equal(unknown.status, 404);
    assert.equal(errorCode(unknown.json), 'CHS_ERR_TRACE_NOT_FOUND');
  });

  test('spans carrying a business key are found by the search, with NUL looked up as stored keys keep it', async () => {
    const all = await get(`/api/spans?businessKey=${encodeURIComponent(key)}`);
    assert.equal(all.status, 200);
    assert.deepEqual((all.json as SpanSearchResponse).spans.map((s) => s.name), ['third', 'second', 'first']);
    const nul = await get('/api/spans?businessKey=a%00b');
    assert.equal(nul.status, 200, 'a NUL in the key is looked up as stored keys are kept (U+FFFD), not an error');
    assert.deepEqual((nul.json as SpanSearchResponse).spans, []);
    const long = await get(`/api/spans?businessKey=${'k'.repeat(513)}`);
    assert.equal(long.status, 400);
    assert.equal(errorCode(long.json), 'CHS_ERR_BUSINESS_KEY_INVALID');
  });

  test('unknown routes are 404 with a code; health and readiness answer 200', async () => {
    const missing = await get('/api/nothing-here');
    assert.equal(missing.status, 404);
    assert.equal(errorCode(missing.json), 'CHS_ERR_ROUTE_NOT_FOUND');
    assert.deepEqual((await get('/healthz')).json, { status: 'ok' });
    assert.deepEqual((await get('/readyz')).json, { status: 'ready' });
  });

  test('a path with a broken percent-encoding is a 400 with a code, not a 500', async () => {
    const answer = await get('/api/traces/%E0%A4%A');
    assert.equal(answer.status, 400);
    assert.equal(errorCode(answer.json), 'CHS_ERR_REQUEST_INVALID');
  });
});
