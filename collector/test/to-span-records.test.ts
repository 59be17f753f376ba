/**
 * The pure decode-and-validate step, fixture by fixture: test/fixtures/NAME.request.json (an OTLP/JSON
 * export) must turn into NAME.expected.json (span records, rejections, warnings).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { decodeExportRequest } from '../src/ingest/otlp-decode.ts';
import { nanosToMs } from '../src/ingest/otlp-fields.ts';
import { ExportTraceServiceRequest } from '../src/ingest/otlp-schema.ts';
import { toSpanRecords } from '../src/ingest/to-span-records.ts';

const FIXTURES = new URL('./fixtures/', import.meta.url);
const read = (file: string): unknown => JSON.parse(readFileSync(new URL(file, FIXTURES), 'utf8'));
const names = readdirSync(FIXTURES).filter((f) => f.endsWith('.request.json')).map((f) => f.replace('.request.json', ''));

for (const name of names) {
  test(`fixture ${name}: the records, rejections and warnings it must give`, () => {
    const result = toSpanRecords(read(`${name}.request.json`));
    assert.ok(result.ok);
    const { ok: _, ...decoded } = result;
    assert.deepEqual(JSON.parse(JSON.stringify(decoded)), read(`${name}.expected.json`));
  });
}

/** The OTLP/JSON fixture as protobuf: hex ids become bytes, the rest protobufjs's fromObject takes as is. */
function asProtobuf(value: unknown, key = ''): unknown {
  if (typeof value === 'string' && /^(traceId|spanId|parentSpanId)$/.test(key)) return Buffer.from(value, 'hex');
  if (Array.isArray(value)) return value.map((item) => asProtobuf(item));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asProtobuf(v, k)]));
  }
  return value;
}

test('the same export in protobuf gives the very same records as in OTLP/JSON', () => {
  const json = read('kafka-hop.request.json');
  const body = ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(asProtobuf(json) as Record<string, unknown>)).finish();
  const decoded = decodeExportRequest(body, 'protobuf');
  assert.ok(decoded.ok);
  assert.deepEqual(toSpanRecords(decoded.request), toSpanRecords(json));
});

test('a request whose containers are not arrays is refused whole, naming where', () => {
  assert.deepEqual(toSpanRecords({ resourceSpans: [{ scopeSpans: 7 }] }), { ok: false, problem: 'resourceSpans[0].scopeSpans must be an array' });
  assert.deepEqual(toSpanRecords('x'), { ok: false, problem: 'the request must be an object' });
  assert.deepEqual(toSpanRecords({}), { ok: true, spans: [], rejections: [], warnings: [] }, 'an empty request is a success');
});

test('nanoseconds become milliseconds exactly to the millisecond, and the fraction to well under a microsecond', () => {
  assert.equal(nanosToMs(1_700_000_000_123_000_000n), 1_700_000_000_123);
  const ms = nanosToMs(1_700_000_000_123_456_789n);
  assert.equal(Math.floor(ms), 1_700_000_000_123);
  assert.ok(Math.abs((ms - 1_700_000_000_123) - 0.456789) < 0.000_5);
});
