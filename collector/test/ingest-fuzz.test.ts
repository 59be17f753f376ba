/**
 * "No input produces a 500", checked beyond the hand-written table (ingest-bad-input.test.ts): rich,
 * valid exports mutated at random — protobuf at the byte level (flips, cuts, insertions, repeats), JSON
 * at the structure level (any value swapped for one of another type or an extreme) — each answered 200
 * or 400 with a body in OTLP's form, never anything else, and the server still serving afterwards.
 * Seeded: a failure names the seed and case, and re-running reproduces it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzzSeed, seededRandom } from '@choreoscope/test-support';
import { ExportTraceServiceRequest, ExportTraceServiceResponse } from '../src/ingest/otlp-schema.ts';
import { jsonRequest, jsonSpan, postTraces, send, spanId, startCollector, traceId, type Answer, type RunningCollector } from './helpers.ts';
import { PROTOBUF_TYPE, readStatus } from './otlp-messages.ts';
import { pgliteStores } from './stores.ts';

const SEED = fuzzSeed('choreoscope-ingest-fuzz-1');
const CASES_PER_ENCODING = 300;
const CONCURRENCY = 8;

/** An export using every part of the schema: resource, scope, attributes of each value type, events, links, status. */
function richJsonRequest(): Record<string, unknown> {
  const attributes = [
    { key: 'choreoscope.business_key', value: { stringValue: 'order-1234' } },
    { key: 'messaging.kafka.offset', value: { intValue: '42' } },
    { key: 'ratio', value: { doubleValue: 0.25 } },
    { key: 'retried', value: { boolValue: true } },
    { key: 'payload', value: { bytesValue: Buffer.from('abc').toString('base64') } },
    { key: 'tags', value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: 7 }] } } },
    { key: 'nested', value: { kvlistValue: { values: [{ key: 'k', value: { stringValue: 'v' } }] } } },
  ];
  const request = jsonRequest([
    jsonSpan({
      parentSpanId: spanId(),
      traceState: 'vendor=1',
      attributes,
      events: [{ timeUnixNano: '1700000000000000000', name: 'retry', attributes: attributes.slice(0, 2) }],
      links: [{ traceId: traceId(), spanId: spanId(), attributes: attributes.slice(3, 5), flags: 1 }],
      status: { code: 2, message: 'card declined' },
      droppedAttributesCount: 1,
      flags: 257,
    }),
    jsonSpan({ kind: 4, name: 'orders publish' }),
  ]);
  return request;
}

/** Byte-level damage to a valid protobuf export. */
function mutateBytes(bytes: Uint8Array, random: () => number): Uint8Array {
  const buffer = Buffer.from(bytes);
  const position = () => Math.floor(random() * buffer.length);
  switch (Math.floor(random() * 4)) {
    case 0: { // flip a few bits
      const flips = 1 + Math.floor(random() * 4);
      for (let i = 0; i < flips; i++) buffer[position()]! ^= 1 << Math.floor(random() * 8);
      return buffer;
    }
    case 1: // cut short
      return buffer.subarray(0, position());
    case 2: { // random bytes inserted
      const at = position();
      const noise = Buffer.from(Array.from({ length: 1 + Math.floor(random() * 16) }, () => Math.floor(random() * 256)));
      return Buffer.concat([buffer.subarray(0, at), noise, buffer.subarray(at)]);
    }
    default: { // a slice repeated (fields seen twice, lengths that now point elsewhere)
      const from = position();
      const to = Math.min(buffer.length, from + 1 + Math.floor(random() * 64));
      return Buffer.concat([buffer.subarray(0, to), buffer.subarray(from, to), buffer.subarray(to)]);
    }
  }
}

const ODD_VALUES: unknown[] = [
  null, true, 0, -1, 1.5, 2 ** 64, -(2 ** 63), Number.MAX_VALUE, '', 'x'.repeat(10_000), '18446744073709551616',
  '-5', 'NaN', 'zz', [], [null], {}, { intValue: {} }, { stringValue: 7 }, '\u0000', '__proto__', { __proto__: { polluted: 1 } },
];

/** Structure-level damage to a valid JSON export: one value anywhere replaced by one of another kind. */
function mutateJson(request: Record<string, unknown>, random: () => number): string {
  const copy = JSON.parse(JSON.stringify(request)) as Record<string, unknown>;
  const slots: { holder: Record<string, unknown> | unknown[]; key: string | number }[] = [];
  const walk = (value: unknown) => {
    if (Array.isArray(value)) value.forEach((item, index) => (slots.push({ holder: value, key: index }), walk(item)));
    else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) slots.push({ holder: value as Record<string, unknown>, key }), walk(item);
    }
  };
  walk(copy);
  const changes = 1 + Math.floor(random() * 3);
  for (let i = 0; i < changes; i++) {
    const slot = slots[Math.floor(random() * slots.length)]!;
    const replacement = ODD_VALUES[Math.floor(random() * ODD_VALUES.length)];
    if (random() < 0.15) {
      if (Array.isArray(slot.holder)) slot.holder.splice(Number(slot.key), 1);
      else delete slot.holder[slot.key as string];
    } else {
      (slot.holder as Record<string | number, unknown>)[slot.key] = replacement;
    }
  }
  return JSON.stringify(copy);
}

let collector: RunningCollector;
before(async () => {
  collector = await startCollector(pgliteStores, { server: { maxBodyBytes: 1024 * 1024 } });
});
after(() => collector.close());

/** Posts the bodies CONCURRENCY at a time; the answers in order. */
async function postAll(bodies: (string | Uint8Array)[], headers: Record<string, string>): Promise<Answer[]> {
  const answers: Answer[] = new Array(bodies.length);
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < bodies.length) {
      const index = next++;
      answers[index] = await postTraces(collector.url, bodies[index]!, headers);
    }
  }));
  return answers;
}

function assertOtlpAnswer(answer: Answer, encoding: 'json' | 'protobuf', what: string): void {
  assert.ok(answer.status === 200 || answer.status === 400, `${what}: status ${answer.status} ${answer.text.slice(0, 300)}`);
  if (answer.status === 400) {
    assert.equal(readStatus(answer, encoding).reason, 'CHS_ERR_OTLP_BODY_UNDECODABLE', what);
  } else if (encoding === 'protobuf') {
    assert.doesNotThrow(() => ExportTraceServiceResponse.decode(answer.body), what);
  } else {
    assert.equal(typeof answer.json, 'object', what);
  }
}

async function assertStillServing(): Promise<void> {
  assert.equal((await postTraces(collector.url, JSON.stringify(jsonRequest([jsonSpan()])))).status, 200);
  assert.equal((await send(`${collector.url}/healthz`, {})).status, 200);
}

test(`${CASES_PER_ENCODING} protobuf exports damaged byte by byte: each a 200 or a 400 google.rpc.Status, never a 500 (seed ${SEED})`, async () => {
  const random = seededRandom(`${SEED}/protobuf`);
  const valid = ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(protobufShaped(richJsonRequest()))).finish();
  const bodies = Array.from({ length: CASES_PER_ENCODING }, () => mutateBytes(valid, random));
  const answers = await postAll(bodies, PROTOBUF_TYPE);
  answers.forEach((answer, index) => assertOtlpAnswer(answer, 'protobuf', `protobuf case ${index}`));
  const statuses = new Set(answers.map((answer) => answer.status));
  assert.ok(statuses.has(200) && statuses.has(400), `the damage reached both outcomes: ${[...statuses]}`);
  await assertStillServing();
});

test(`${CASES_PER_ENCODING} JSON exports with values swapped for other types and extremes: each a 200 or a 400, never a 500 (seed ${SEED})`, async () => {
  const random = seededRandom(`${SEED}/json`);
  const bodies = Array.from({ length: CASES_PER_ENCODING }, () => mutateJson(richJsonRequest(), random));
  const answers = await postAll(bodies, { 'content-type': 'application/json' });
  answers.forEach((answer, index) => assertOtlpAnswer(answer, 'json', `JSON case ${index}: ${String(bodies[index]).slice(0, 200)}`));
  const partial = answers.filter((answer) => answer.status === 200 && answer.json.partialSuccess?.rejectedSpans > 0);
  assert.ok(partial.length > 0, 'some damage was caught span by span (a 200 with partialSuccess)');
  assert.ok(answers.some((answer) => answer.status === 400), 'some damage made the body undecodable (a 400)');
  await assertStillServing();
});

/** The JSON request in protobufjs's object form: hex ids as bytes, base64 bytes values as bytes. */
function protobufShaped(request: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(request), (key, value: unknown) => {
    if ((key === 'traceId' || key === 'spanId' || key === 'parentSpanId') && typeof value === 'string') return Buffer.from(value, 'hex');
    if (key === 'bytesValue' && typeof value === 'string') return Buffer.from(value, 'base64');
    return value;
  }) as Record<string, unknown>;
}
