/**
 * "No input is a 500" for the query API, on both stores: every route called with hostile path segments
 * and query values (NUL, broken percent-encoding, lone surrogates, SQL, huge numbers, repeated and
 * unknown parameters) answers 200, 400 or 404 with a JSON body, and a 4xx names a code of the catalogue.
 * Seeded like ingest-fuzz.test.ts (CHOREOSCOPE_FUZZ_SEED).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzzSeed, seededRandom } from '@choreoscope/test-support';
import { ERRORS } from '../src/api/errors.ts';
import { jsonRequest, jsonSpan, postTraces, send, startCollector, type RunningCollector } from './helpers.ts';
import { forEachStore } from './stores.ts';

const SEED = fuzzSeed('choreoscope-query-fuzz-1');
const CASES = 400;
const CODES = new Set(Object.values(ERRORS).map((definition) => definition.code));

/** Values as they go into a URL: already percent-encoded, some of them wrongly on purpose. */
const HOSTILE = [
  '', '%20', '%00', 'a%00b', '%ED%A0%80', '%FF%FE', '%', '%zz', '%25', 'x'.repeat(5_000), '%C3%BC', '%F0%9F%93%A6',
  '-1', '0', '1e309', '9'.repeat(400), '1.5', 'NaN', 'Infinity', 'null', 'true', '%5B%5D', '%7B%7D',
  "'%3B%20DROP%20TABLE%20spans%3B%20--", '%5C', '*', '..', '%2F', '2025-13-45T99%3A99%3A99Z', '2025-01-31T12%3A00%3A00Z',
  '1738324800000', '-62135596800001', 'error', 'ok', 'unset', 'a%3Ab', '%3A', '%3Avalue', 'key%3A', 'order-1234',
  '4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b7', '0'.repeat(32), 'G'.repeat(32), 'eyJ4IjoxfQ', 'AAAA', '__proto__', 'constructor',
];
const SEARCH_PARAMETERS = ['service', 'operation', 'attr', 'start', 'end', 'minDurationMs', 'maxDurationMs', 'businessKey', 'status', 'limit', 'cursor', 'nope'];
const FLOW_PARAMETERS = ['businessKey', 'traceId', 'service', 'eventType', 'anomaly', 'start', 'end', 'limit', 'cursor', 'nope'];

function hostileUrl(random: () => number): string {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const value = () => pick(HOSTILE);
  const query = (names: readonly string[]) => {
    const count = Math.floor(random() * 4);
    const pairs = Array.from({ length: count }, () => `${pick(names)}=${value()}`);
    return pairs.length === 0 ? '' : `?${pairs.join('&')}`;
  };
  switch (Math.floor(random() * 10)) {
    case 0: return `/api/spans${query(SEARCH_PARAMETERS)}`;
    case 1: return `/api/traces/${value()}${query(['limit'])}`;
    case 2: return `/api/flows/${value()}`;
    case 3: return `/api/services/${value()}/operations${query(['nope'])}`;
    case 4: return `/api/links/${value()}/${value()}`;
    case 5: return `/api/flows${query(FLOW_PARAMETERS)}`;
    case 6: return `/api/spans/${value()}/${value()}/consumers`;
    case 7: return `/api/diagnostics/propagation${query(['start', 'limit', 'nope'])}`;
    case 8: return `/api/flows/${'a'.repeat(32)}-${value()}`;
    default: return `/api/services${query(['nope'])}`;
  }
}

forEachStore((kind) => {
  let collector: RunningCollector;
  before(async () => {
    collector = await startCollector(kind);
    // something to find, so some queries answer 200 with spans
    const spans = [jsonSpan({ attributes: [{ key: 'choreoscope.business_key', value: { stringValue: 'order-1234' } }] })];
    assert.equal((await postTraces(collector.url, JSON.stringify(jsonRequest(spans)))).status, 200);
  });
  after(() => collector.close());

  test(`${CASES} hostile query API requests: each a 200, 400 or 404 with a JSON body, never a 500 (seed ${SEED})`, async () => {
    const random = seededRandom(`${SEED}/${kind.name}`);
    const statuses = new Map<number, number>();
    for (let index = 0; index < CASES; index++) {
      const path = hostileUrl(random);
      const answer = await send(`${collector.url}${path}`, {});
      const what = `case ${index}: GET ${path.slice(0, 200)} → ${answer.status} ${answer.text.slice(0, 300)}`;
      assert.ok([200, 400, 404].includes(answer.status), what);
      assert.match(answer.headers.get('content-type') ?? '', /^application\/json/, what);
      if (answer.status !== 200) assert.ok(CODES.has(answer.json?.error?.code), what);
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
    }
    assert.ok(statuses.has(200) && statuses.has(400) && statuses.has(404), `every outcome was reached: ${JSON.stringify([...statuses])}`);
    assert.equal((await send(`${collector.url}/readyz`, {})).status, 200, 'the store still answers');
  });
});
