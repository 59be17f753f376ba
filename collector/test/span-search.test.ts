import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiErrorBody, SpanSearchResponse } from '../src/api/types.ts';
import { send, startCollector, traceId, type RunningCollector } from './helpers.ts';
import { keyOf, keysOf, newestFirst, postSeeds, type Seed, type SeededSpan } from './seed-spans.ts';
import { forEachStore } from './stores.ts';

const T0 = Date.UTC(2025, 0, 31, 12, 0, 0); // 2025-01-31T12:00:00Z
const at = (seconds: number) => T0 + seconds * 1000;

/** Three services' worth of spans; each test below states what it expects with a plain predicate. */
const SEEDS: Seed[] = [
  { service: 'orders', name: 'orders publish', startMs: at(0), durationMs: 5, businessKey: 'order-1', attributes: { 'order.region': 'eu', 'retry.count': 0 } },
  { service: 'orders', name: 'orders publish', startMs: at(1), durationMs: 7, businessKey: 'order-2', attributes: { 'order.region': 'us', 'retry.count': 2 } },
  { service: 'orders', name: 'create order', startMs: at(2), durationMs: 120, status: 'error', businessKey: 'order-2', attributes: { 'order.region': 'eu', cached: true } },
  { service: 'payments', name: 'charge card', startMs: at(3), durationMs: 250, businessKey: 'order-1', attributes: { amount: 12.5, 'retry.count': '2' } },
  { service: 'payments', name: 'charge card', startMs: at(4), durationMs: 900, status: 'error', businessKey: 'order-2', attributes: { amount: 99, cached: 'true' } },
  { service: 'payments', name: 'refund', startMs: at(5), durationMs: 40, status: 'ok', attributes: { 'order.region': 'eu', url: 'http://x/y?z=1' } },
  { service: 'shipping', name: 'ship', startMs: at(6), durationMs: 3000, businessKey: 'order-1', attributes: { 'order.region': 'eu', cached: false } },
  { service: 'shipping', name: 'ship', startMs: at(6), durationMs: 10, attributes: { 'order.region': 'eu' } }, // same start: ids break the tie
  { service: 'shipping', name: 'label', startMs: at(7), durationMs: 1, status: 'error', attributes: { 'order.region': 'apac' } },
];

forEachStore((kind) => {
  let collector: RunningCollector;
  let seeded: SeededSpan[];
  before(async () => {
    collector = await startCollector(kind);
    seeded = await postSeeds(collector.url, SEEDS);
  });
  after(() => collector.close());

  const get = (path: string) => send(`${collector.url}${path}`, {});
  const expected = (keep: (s: SeededSpan) => boolean) => seeded.filter(keep).sort(newestFirst).map(keyOf);
  const search = async (query: string) => keysOf(await get(`/api/spans?${query}`));

  test('without filters a search answers every span, newest first, ties by trace then span id', async () => {
    const answer = await get('/api/spans');
    assert.deepEqual(keysOf(answer), expected(() => true));
    assert.equal((answer.json as SpanSearchResponse).nextCursor, null, 'all fit in the default limit of 100');
  });

  test('each filter on its own', async () => {
    const cases: [string, (s: SeededSpan) => boolean][] = [
      ['service=payments', (s) => s.service === 'payments'],
      ['operation=charge%20card', (s) => s.name === 'charge card'],
      ['businessKey=order-1', (s) => s.businessKey === 'order-1'],
      ['status=error', (s) => s.status === 'error'],
      ['status=ok', (s) => s.status === 'ok'],
      ['minDurationMs=250', (s) => s.durationMs >= 250],
      ['maxDurationMs=7', (s) => s.durationMs <= 7],
      ['minDurationMs=0.5', (s) => s.durationMs >= 0.5],
      [`start=${at(5)}`, (s) => s.startMs >= at(5)],
      [`end=${at(2)}`, (s) => s.startMs < at(2)],
      [`start=${encodeURIComponent(new Date(at(3)).toISOString())}`, (s) => s.startMs >= at(3)],
      ['start=2025-01-31T14:00:04%2B02:00', (s) => s.startMs >= at(4)], // an offset: 12:00:04Z
      ['end=2025-01-31t12:00:01.000001z', (s) => s.startMs <= at(1)], // lower case, and a fraction below the millisecond
      ['attr=order.region:eu', (s) => s.attributes?.['order.region'] === 'eu'],
      ['attr=retry.count:2', (s) => s.attributes?.['retry.count'] === 2 || s.attributes?.['retry.count'] === '2'],
      ['attr=retry.count:0', (s) => s.attributes?.['retry.count'] === 0],
      ['attr=cached:true', (s) => s.attributes?.cached === true || s.attributes?.cached === 'true'],
      ['attr=cached:false', (s) => s.attributes?.cached === false],
      ['attr=amount:12.5', (s) => s.attributes?.amount === 12.5],
      ['attr=amount:99.0', (s) => s.attributes?.amount === 99],
      [`attr=url:${encodeURIComponent('http://x/y?z=1')}`, (s) => s.attributes?.url === 'http://x/y?z=1'], // the key ends at the first colon
      ['service=nobody', () => false],
    ];
    for (const [query, keep] of cases) assert.deepEqual(await search(query), expected(keep), query);
  });

  test('filters combined: every one must hold', async () => {
    const cases: [string, (s: SeededSpan) => boolean][] = [
      ['service=payments&status=error', (s) => s.service === 'payments' && s.status === 'error'],
      ['attr=order.region:eu&attr=cached:true', (s) => s.attributes?.['order.region'] === 'eu' && s.attributes.cached === true],
      [`service=shipping&operation=ship&start=${at(6)}&end=${at(7)}&maxDurationMs=100`,
        (s) => s.service === 'shipping' && s.name === 'ship' && s.durationMs <= 100],
      [`businessKey=order-2&minDurationMs=100&attr=cached:true&status=error&start=${at(1)}`,
        (s) => s.businessKey === 'order-2' && s.durationMs >= 100 && String(s.attributes?.cached) === 'true' && s.status === 'error'],
      ['service=orders&attr=order.region:apac', () => false],
    ];
    for (const [query, keep] of cases) assert.deepEqual(await search(query), expected(keep), query);
  });

  test('pagination walks every span exactly once while new spans arrive between pages', async () => {
    const T1 = Date.UTC(2025, 1, 1);
    const sharedTrace = traceId();
    // 23 spans, some starting at the same millisecond (ties broken by trace, then span id)
    const walk = await postSeeds(collector.url, Array.from({ length: 23 }, (_, i): Seed => ({
      service: 'walk', name: `step ${i}`, startMs: T1 + Math.floor(i / 3) * 10, durationMs: 1, traceId: i % 2 === 0 ? sharedTrace : undefined,
    })));
    const seen: string[] = [];
    const arrivedOlder: string[] = [];
    const arrivedNewer: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const answer = await get(`/api/spans?service=walk&limit=4${cursor === null ? '' : `&cursor=${cursor}`}`);
      seen.push(...keysOf(answer));
      cursor = (answer.json as SpanSearchResponse).nextCursor;
      pages += 1;
      if (cursor === null) break;
      // newer than every span: before the cursor, never seen; older than every span: after it, seen at the end
      const [newer, older] = await postSeeds(collector.url, [
        { service: 'walk', name: 'late newer', startMs: T1 + 1_000_000 + pages, durationMs: 1 },
        { service: 'walk', name: 'late older', startMs: T1 - 1_000 - pages, durationMs: 1 },
      ]);
      arrivedNewer.push(keyOf(newer!));
      arrivedOlder.push(keyOf(older!));
    } while (pages < 50);

    assert.equal(new Set(seen).size, seen.length, 'no span twice');
    const originals = walk.sort(newestFirst).map(keyOf);
    assert.deepEqual(seen.slice(0, originals.length), originals, 'the first spans, all of them, in order');
    assert.deepEqual(seen.slice(originals.length), arrivedOlder, 'then the older arrivals, newest (the first to arrive) first');
    assert.ok(arrivedNewer.every((key) => !seen.includes(key)), 'spans newer than the cursor are not on later pages');
    assert.equal(pages, Math.ceil(seen.length / 4));
  });

  test('limit: 100 by default, up to 1000', async () => {
    const many = await postSeeds(collector.url, Array.from({ length: 101 }, (_, i): Seed => ({
      service: 'many', name: 'tick', startMs: Date.UTC(2025, 2, 1) + i, durationMs: 0,
    })));
    const first = await get('/api/spans?service=many');
    assert.equal(keysOf(first).length, 100);
    assert.notEqual((first.json as SpanSearchResponse).nextCursor, null);
    const rest = await get(`/api/spans?service=many&cursor=${(first.json as SpanSearchResponse).nextCursor}`);
    assert.deepEqual(keysOf(rest), [keyOf(many.sort(newestFirst).at(-1)!)]);
    assert.equal((rest.json as SpanSearchResponse).nextCursor, null);
    assert.equal(keysOf(await get('/api/spans?service=many&limit=1000')).length, 101);
  });

  test('bad parameters are each a 400 with the code that names the problem, never a 500', async () => {
    const cursorOf = (text: string) => Buffer.from(text).toString('base64url');
    const goodTrace = 'a'.repeat(32);
    const cases: [string, string][] = [
      ['/api/spans?colour=red', 'CHS_ERR_QUERY_PARAMETER_UNKNOWN'],
      ['/api/spans?service=orders&Service=orders', 'CHS_ERR_QUERY_PARAMETER_UNKNOWN'],
      ['/api/spans?start=yesterday', 'CHS_ERR_QUERY_TIME_INVALID'],
      ['/api/spans?start=2025-01-31T12:00:00', 'CHS_ERR_QUERY_TIME_INVALID'], // no time zone
      ['/api/spans?end=2025-02-30T00:00:00Z', 'CHS_ERR_QUERY_TIME_INVALID'],
      ['/api/spans?start=2016-12-31T23:59:60Z', 'CHS_ERR_QUERY_TIME_INVALID'], // a leap second Date cannot place
      ['/api/spans?start=-5', 'CHS_ERR_QUERY_TIME_INVALID'],
      [`/api/spans?start=${at(2)}&end=${at(1)}`, 'CHS_ERR_QUERY_TIME_INVALID'],
      [`/api/spans?start=${at(1)}&end=${at(1)}`, 'CHS_ERR_QUERY_TIME_INVALID'],
      ['/api/spans?limit=0', 'CHS_ERR_QUERY_LIMIT_INVALID'],
      ['/api/spans?limit=5000', 'CHS_ERR_QUERY_LIMIT_INVALID'],
      ['/api/spans?limit=ten', 'CHS_ERR_QUERY_LIMIT_INVALID'],
      ['/api/spans?limit=1.5', 'CHS_ERR_QUERY_LIMIT_INVALID'],
      ['/api/spans?limit=1e309', 'CHS_ERR_QUERY_LIMIT_INVALID'], // read as Infinity, which Ajv lets past maximum
      ['/api/spans?limit=Infinity', 'CHS_ERR_QUERY_LIMIT_INVALID'],
      ['/api/spans?cursor=not*base64', 'CHS_ERR_QUERY_CURSOR_INVALID'],
      [`/api/spans?cursor=${cursorOf('hello')}`, 'CHS_ERR_QUERY_CURSOR_INVALID'],
      [`/api/spans?cursor=${cursorOf(`p1 2025-02-30T00:00:00.000000Z ${goodTrace} ${'b'.repeat(16)}`)}`, 'CHS_ERR_QUERY_CURSOR_INVALID'],
      [`/api/spans?cursor=${cursorOf(`p1 2025-01-30T00:00:00.000000Z ${goodTrace} 'x'`)}`, 'CHS_ERR_QUERY_CURSOR_INVALID'],
      [`/api/spans?cursor=${'A'.repeat(300)}`, 'CHS_ERR_QUERY_CURSOR_INVALID'],
      ['/api/spans?attr=no-colon', 'CHS_ERR_ATTRIBUTE_FILTER_INVALID'],
      ['/api/spans?attr=order.region:eu&attr=:eu', 'CHS_ERR_ATTRIBUTE_FILTER_INVALID'],
      [`/api/spans?${Array.from({ length: 21 }, (_, i) => `attr=k${i}:v`).join('&')}`, 'CHS_ERR_PARAMETER_INVALID'],
      ['/api/spans?status=failed', 'CHS_ERR_PARAMETER_INVALID'],
      ['/api/spans?minDurationMs=-5', 'CHS_ERR_PARAMETER_INVALID'],
      ['/api/spans?maxDurationMs=long', 'CHS_ERR_PARAMETER_INVALID'],
      ['/api/spans?maxDurationMs=1e300', 'CHS_ERR_PARAMETER_INVALID'], // past PostgreSQL's interval
      ['/api/spans?minDurationMs=Infinity', 'CHS_ERR_PARAMETER_INVALID'],
      ['/api/spans?minDurationMs=10&maxDurationMs=5', 'CHS_ERR_PARAMETER_INVALID'],
      ['/api/spans?service=orders&service=payments', 'CHS_ERR_PARAMETER_INVALID'],
      [`/api/spans?service=${'s'.repeat(513)}`, 'CHS_ERR_PARAMETER_INVALID'],
      [`/api/spans?businessKey=${'k'.repeat(513)}`, 'CHS_ERR_BUSINESS_KEY_INVALID'],
      ['/api/traces/not-a-trace-id', 'CHS_ERR_TRACE_ID_INVALID'],
      [`/api/traces/${'0'.repeat(32)}`, 'CHS_ERR_TRACE_ID_INVALID'],
    ];
    for (const [path, code] of cases) {
      const answer = await get(path);
      assert.equal(answer.status, 400, `${path}: ${answer.text}`);
      assert.equal((answer.json as ApiErrorBody).error.code, code, path);
    }
  });

  test('text that cannot be stored (NUL) is looked up as stored, not a database error', async () => {
    for (const query of ['attr=k:a%00b', 'attr=a%00b:v', 'operation=a%00', 'service=a%00', 'businessKey=a%00']) {
      assert.deepEqual(await search(query), [], query);
    }
  });
});
