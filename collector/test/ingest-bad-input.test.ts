/**
 * Malformed OTLP/HTTP exports, each answered with its precise status and body, and none able to stop
 * the server from taking the next good request. A rejected span costs only itself (a 200 with
 * partialSuccess); an undecodable body is a 400; the answer is in the request's encoding.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { ExportTraceServiceResponse } from '../src/ingest/otlp-schema.ts';
import { jsonRequest, jsonSpan, postTraces, send, spanId, startCollector, traceId, type Answer, type RunningCollector } from './helpers.ts';
import { PROTOBUF_TYPE, protobufRequest, protobufSpan, readStatus } from './otlp-messages.ts';
import { forEachStore, pgliteStores } from './stores.ts';

const MAX_BODY_BYTES = 1024 * 1024;
const MAX_SPANS_PER_REQUEST = 1_000;
const JSON_TYPE = { 'content-type': 'application/json' };

let collector: RunningCollector;
before(async () => {
  collector = await startCollector(pgliteStores, { server: { maxBodyBytes: MAX_BODY_BYTES, maxSpansPerRequest: MAX_SPANS_PER_REQUEST } }); // decoding does not depend on the store
});
after(() => collector.close());

interface Case {
  name: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array | (() => string | Uint8Array | ReadableStream<Uint8Array>);
  status: number;
  /** The CHS_ERR_... code in the google.rpc.Status of a 4xx/5xx. */
  code?: string;
  /** For a 200: the partial success expected (null: none, a full success). */
  partial?: { rejected: number; message: RegExp } | null;
  /** The answer's encoding; by default the request's (JSON when it named no supported one). */
  answerIn?: 'json' | 'protobuf';
  /** Response headers that must be present with these values. */
  responseHeaders?: Record<string, string>;
}

const json = (value: unknown): string => JSON.stringify(value);
const oneSpan = (fields: Record<string, unknown>): string => json(jsonRequest([jsonSpan(fields)]));
const rejected = (message: RegExp) => ({ rejected: 1, message });

/** 512 concatenated gzip members of 1 MiB of zeros each: about 0.5 MB that inflates to 512 MiB. */
function gzipBomb(): Uint8Array {
  const member = gzipSync(Buffer.alloc(1024 * 1024), { level: 9 });
  return Buffer.concat(Array.from({ length: 512 }, () => member));
}

/** A body with no Content-Length (chunked) that goes past the limit. */
function chunkedOversizedBody(): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent > MAX_BODY_BYTES * 2) return controller.close();
      sent += 64 * 1024;
      controller.enqueue(new Uint8Array(64 * 1024).fill(0x20));
    },
  });
}

const cases: Case[] = [
  // --- bodies that do not decode: 400, nothing stored --------------------------------------------------
  { name: 'broken JSON', headers: JSON_TYPE, body: '{"resourceSpans": [', status: 400, code: 'CHS_ERR_OTLP_BODY_UNDECODABLE' },
  { name: 'an empty JSON body', headers: JSON_TYPE, body: '', status: 400, code: 'CHS_ERR_OTLP_BODY_UNDECODABLE' },
  { name: 'a JSON array instead of an object', headers: JSON_TYPE, body: '[]', status: 400, code: 'CHS_ERR_OTLP_BODY_UNDECODABLE' },
  { name: 'JSON null', headers: JSON_TYPE, body: 'null', status: 400, code: 'CHS_ERR_OTLP_BODY_UNDECODABLE' },
  { name: 'resourceSpans not an array', headers: JSON_TYPE, body: '{"resourceSpans": {}}', status: 400, code: 'CHS_ERR_OTLP_BODY_UNDECODABLE' },
  { name: 'spans not an array', headers: JSON_TYPE, body: json({ resourceSpans: [{ scopeSpans: [{ spans: 'x' }] }] }), status: 400, code: 'CHS_ERR_OTLP_BODY_UNDECODABLE' },
  { name: 'truncated protobuf', headers: PROTOBUF_TYPE, body: () => protobufRequest([protobufSpan()]).subarray(0, 30), status: 400, code: 'CHS_ERR_OTLP_BODY_UNDECODABLE' },
  { name: 'protobuf with a length past the end', headers: PROTOBUF_TYPE, body: new Uint8Array([0x0a, 0x7f, 0x01]), status: 400, code: 'CHS_ERR_OTLP_BODY_UNDECODABLE' },
  { name: 'JSON sent as protobuf', headers: PROTOBUF_TYPE, body: oneSpan({}), status: 400, code: 'CHS_ERR_OTLP_BODY_UNDECODABLE' },
  // --- spans rejected one by one: 200 with partialSuccess -----------------------------------------------
  { name: 'a trace id of 8 bytes', headers: JSON_TYPE, body: oneSpan({ traceId: '0123456789abcdef' }), status: 200, partial: rejected(/spans\[0\]: traceId must be 16 bytes \(32 hex digits\), got 16 digits/) },
  { name: 'a span id of 16 bytes', headers: JSON_TYPE, body: oneSpan({ spanId: traceId() }), status: 200, partial: rejected(/spanId must be 8 bytes/) },
  { name: 'base64 ids in JSON', headers: JSON_TYPE, body: oneSpan({ traceId: 'W47/95gDgQPSabYzgT/GDA==' }), status: 200, partial: rejected(/traceId is not hex .*not base64/) },
  { name: 'an all-zero trace id', headers: JSON_TYPE, body: oneSpan({ traceId: '0'.repeat(32) }), status: 200, partial: rejected(/traceId is all zeros/) },
  { name: 'no span id', headers: JSON_TYPE, body: oneSpan({ spanId: undefined }), status: 200, partial: rejected(/spanId is missing/) },
  { name: 'a parent id of 4 bytes', headers: JSON_TYPE, body: oneSpan({ parentSpanId: '01020304' }), status: 200, partial: rejected(/parentSpanId must be 8 bytes/) },
  { name: 'an end before the start', headers: JSON_TYPE, body: oneSpan({ endTimeUnixNano: '1699999999999999999' }), status: 200, partial: rejected(/endTimeUnixNano is before startTimeUnixNano/) },
  { name: 'no start time', headers: JSON_TYPE, body: oneSpan({ startTimeUnixNano: undefined }), status: 200, partial: rejected(/startTimeUnixNano is missing/) },
  { name: 'a time after 2262', headers: JSON_TYPE, body: oneSpan({ endTimeUnixNano: '18446744073709551615' }), status: 200, partial: rejected(/endTimeUnixNano is after the year 2262/) },
  { name: 'an enum name instead of its number', headers: JSON_TYPE, body: oneSpan({ kind: 'SPAN_KIND_SERVER' }), status: 200, partial: rejected(/kind must be an integer .*got "SPAN_KIND_SERVER"/) },
  { name: 'a status code name', headers: JSON_TYPE, body: oneSpan({ status: { code: 'STATUS_CODE_ERROR' } }), status: 200, partial: rejected(/status\.code must be an integer/) },
  { name: 'an intValue that is not an integer', headers: JSON_TYPE, body: oneSpan({ attributes: [{ key: 'n', value: { intValue: 'twelve' } }] }), status: 200, partial: rejected(/attributes\[0\]\.value\.intValue must be an integer/) },
  { name: 'an attribute nested 20 deep', headers: JSON_TYPE, body: () => {
    let value: unknown = { stringValue: 'leaf' };
    for (let i = 0; i < 20; i++) value = { arrayValue: { values: [value] } };
    return oneSpan({ attributes: [{ key: 'deep', value }] });
  }, status: 200, partial: rejected(/nested deeper than 16 levels/) },
  { name: 'a link with a short trace id', headers: JSON_TYPE, body: oneSpan({ links: [{ traceId: 'abcd', spanId: spanId() }] }), status: 200, partial: rejected(/links\[0\]\.traceId must be 16 bytes/) },
  { name: 'a business key of 600 characters', headers: JSON_TYPE, body: oneSpan({ attributes: [{ key: 'choreoscope.business_key', value: { stringValue: 'k'.repeat(600) } }] }), status: 200, partial: rejected(/choreoscope\.business_key is 600 characters long/) },
  { name: 'snake_case span keys', headers: JSON_TYPE, body: json(jsonRequest([{ trace_id: traceId(), span_id: spanId(), start_time_unix_nano: '1', end_time_unix_nano: '2' }])), status: 200, partial: { rejected: 1, message: /traceId is missing.*ignored the key "trace_id": OTLP\/JSON keys are lowerCamelCase \("traceId"\)/ } },
  { name: 'a snake_case top-level key', headers: JSON_TYPE, body: json({ resource_spans: jsonRequest([jsonSpan()]).resourceSpans }), status: 200, partial: { rejected: 0, message: /^ignored the key "resource_spans".*"resourceSpans"/ } },
  { name: 'a protobuf trace id of 8 bytes, answered in protobuf', headers: PROTOBUF_TYPE, body: () => protobufRequest([protobufSpan({ traceId: Buffer.alloc(8, 7) }), protobufSpan()]), status: 200, partial: rejected(/spans\[0\]: traceId must be 16 bytes, got 8/) },
  // --- accepted as they are ----------------------------------------------------------------------------
  { name: 'unknown fields, ignored', headers: JSON_TYPE, body: json({ ...jsonRequest([jsonSpan({ futureField: { x: 1 } })]), alsoNew: true }), status: 200, partial: null },
  { name: 'a charset parameter on the content type', headers: { 'content-type': 'Application/JSON; charset=utf-8' }, body: oneSpan({}), status: 200, partial: null },
  { name: 'an empty protobuf body (an empty request)', headers: PROTOBUF_TYPE, body: new Uint8Array(0), status: 200, partial: null },
  { name: 'a NUL in the span name (stored as U+FFFD)', headers: JSON_TYPE, body: oneSpan({ name: 'a\u0000b' }), status: 200, partial: null },
  // --- the request itself refused ----------------------------------------------------------------------
  { name: 'text/plain', headers: { 'content-type': 'text/plain' }, body: oneSpan({}), status: 415, code: 'CHS_ERR_OTLP_CONTENT_TYPE_UNSUPPORTED' },
  { name: 'no content type', headers: {}, body: new Uint8Array([1, 2, 3]), status: 415, code: 'CHS_ERR_OTLP_CONTENT_TYPE_UNSUPPORTED' },
  { name: 'application/protobuf (not the OTLP name)', headers: { 'content-type': 'application/protobuf' }, body: new Uint8Array(0), status: 415, code: 'CHS_ERR_OTLP_CONTENT_TYPE_UNSUPPORTED' },
  { name: 'Content-Encoding br', headers: { ...JSON_TYPE, 'content-encoding': 'br' }, body: oneSpan({}), status: 415, code: 'CHS_ERR_OTLP_CONTENT_ENCODING_UNSUPPORTED' },
  { name: 'GET', method: 'GET', status: 405, code: 'CHS_ERR_OTLP_METHOD_NOT_ALLOWED', responseHeaders: { allow: 'POST' } },
  { name: 'PUT with a protobuf body, answered in protobuf', method: 'PUT', headers: PROTOBUF_TYPE, body: () => protobufRequest([protobufSpan()]), status: 405, code: 'CHS_ERR_OTLP_METHOD_NOT_ALLOWED', responseHeaders: { allow: 'POST' } },
  { name: 'DELETE', method: 'DELETE', status: 405, code: 'CHS_ERR_OTLP_METHOD_NOT_ALLOWED', responseHeaders: { allow: 'POST' } },
  { name: 'a body over the limit', headers: JSON_TYPE, body: () => ' '.repeat(MAX_BODY_BYTES + 1), status: 413, code: 'CHS_ERR_OTLP_BODY_TOO_LARGE' },
  { name: 'a chunked body over the limit (no Content-Length)', headers: JSON_TYPE, body: chunkedOversizedBody, status: 413, code: 'CHS_ERR_OTLP_BODY_TOO_LARGE' },
  { name: 'more spans than one export may carry, in a small body', headers: JSON_TYPE, body: () => json(jsonRequest(Array.from({ length: MAX_SPANS_PER_REQUEST + 1 }, () => jsonSpan()))), status: 413, code: 'CHS_ERR_OTLP_TOO_MANY_SPANS' },
  { name: 'exactly as many spans as one export may carry', headers: JSON_TYPE, body: () => json(jsonRequest(Array.from({ length: MAX_SPANS_PER_REQUEST }, () => jsonSpan()))), status: 200, partial: null },
  { name: 'a gzip bomb (0.5 MB inflating to 512 MiB)', headers: { ...JSON_TYPE, 'content-encoding': 'gzip' }, body: gzipBomb, status: 413, code: 'CHS_ERR_OTLP_BODY_TOO_LARGE' },
  { name: 'gzip declared, plain body sent', headers: { ...JSON_TYPE, 'content-encoding': 'gzip' }, body: oneSpan({}), status: 400, code: 'CHS_ERR_OTLP_GZIP_INVALID' },
  { name: 'truncated gzip', headers: { ...PROTOBUF_TYPE, 'content-encoding': 'gzip' }, body: () => gzipSync(protobufRequest([protobufSpan()])).subarray(0, 20), status: 400, code: 'CHS_ERR_OTLP_GZIP_INVALID' },
  { name: 'gzipped broken JSON', headers: { ...JSON_TYPE, 'content-encoding': 'gzip' }, body: () => gzipSync('{"resourceSpans":'), status: 400, code: 'CHS_ERR_OTLP_BODY_UNDECODABLE' },
];

function answerEncodingOf(testCase: Case): 'json' | 'protobuf' {
  return testCase.answerIn ?? (testCase.headers?.['content-type'] === 'application/x-protobuf' ? 'protobuf' : 'json');
}

function readPartialSuccess(answer: Answer, encoding: 'json' | 'protobuf'): { rejected: number; message: string } | null {
  const response = encoding === 'json'
    ? answer.json
    : ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(answer.body), { longs: String });
  if (response.partialSuccess === undefined) return null;
  return { rejected: Number(response.partialSuccess.rejectedSpans ?? 0), message: response.partialSuccess.errorMessage };
}

test(`${cases.length} malformed or unusual exports each get their precise answer`, async (t) => {
  assert.ok(cases.length >= 25);
  for (const testCase of cases) {
    await t.test(testCase.name, async () => {
      const body = typeof testCase.body === 'function' ? testCase.body() : testCase.body;
      const init: RequestInit & { duplex?: 'half' } = { method: testCase.method ?? 'POST', headers: testCase.headers ?? {} };
      if (body !== undefined) init.body = body;
      if (body instanceof ReadableStream) init.duplex = 'half';
      const started = Date.now();
      const answer = await send(`${collector.url}/v1/traces`, init);
      const encoding = answerEncodingOf(testCase);

      assert.equal(answer.status, testCase.status, answer.text.slice(0, 500));
      assert.equal(answer.headers.get('content-type'), encoding === 'json' ? 'application/json' : 'application/x-protobuf');
      for (const [name, value] of Object.entries(testCase.responseHeaders ?? {})) assert.equal(answer.headers.get(name), value);
      if (testCase.status === 200) {
        const partial = readPartialSuccess(answer, encoding);
        if (testCase.partial === null || testCase.partial === undefined) {
          assert.equal(partial, null, `a full success leaves partialSuccess unset, got ${JSON.stringify(partial)}`);
        } else {
          assert.ok(partial, 'partialSuccess is set');
          assert.equal(partial.rejected, testCase.partial.rejected);
          assert.match(partial.message, testCase.partial.message);
        }
      } else {
        const status = readStatus(answer, encoding);
        assert.equal(status.reason, testCase.code);
        assert.ok(status.message.length > 0);
      }
      assert.ok(Date.now() - started < 5_000, 'answered promptly');
    });
  }

  await t.test('the server still takes a good export afterwards, and the good span of a mixed batch is stored', async () => {
    const good = jsonSpan({ name: 'good one' });
    const answer = await postTraces(collector.url, json(jsonRequest([jsonSpan({ spanId: 'zz' }), good])));
    assert.equal(answer.status, 200);
    assert.equal(answer.json.partialSuccess.rejectedSpans, '1');
    const trace = await send(`${collector.url}/api/traces/${good.traceId}`, {});
    assert.equal(trace.status, 200);
    assert.deepEqual(trace.json.spans.map((s: { name: string }) => s.name), ['good one']);
  });
});

forEachStore((kind) => {
  test('a NUL in a span name is stored as U+FFFD, and a __proto__ attribute stays an ordinary key', async () => {
    const stored = await startCollector(kind);
    try {
      const span = jsonSpan({ name: 'a\u0000b', attributes: [{ key: '__proto__', value: { stringValue: 'x' } }] });
      assert.equal((await postTraces(stored.url, json(jsonRequest([span])))).status, 200);
      const trace = await send(`${stored.url}/api/traces/${span.traceId}`, {});
      assert.equal(trace.json.spans[0].name, 'a\uFFFDb');
      assert.equal(Object.getOwnPropertyDescriptor(trace.json.spans[0].attributes, '__proto__')?.value, 'x');
    } finally {
      await stored.close();
    }
  });
});
