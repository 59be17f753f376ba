import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonRequest, jsonSpan, postTraces, send, startCollector, type Answer, type RunningCollector } from './helpers.ts';
import { PROTOBUF_TYPE, protobufRequest, protobufSpan, readStatus } from './otlp-messages.ts';
import { pgliteStores } from './stores.ts';

const INGEST_TOKEN = 'ingest-2f9c41d7e0b6';
const API_TOKEN = 'api-8a1e55c03d7f';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

let collector: RunningCollector;
const logLines: string[] = [];
const span = jsonSpan();

before(async () => {
  collector = await startCollector(pgliteStores, {
    server: {
      ingestTokens: [INGEST_TOKEN],
      apiTokens: [API_TOKEN],
      logLevel: 'trace',
      logDestination: { write: (line) => void logLines.push(line) },
    },
  });
});
after(() => collector.close());

const encodings = [
  { encoding: 'json' as const, headers: { 'content-type': 'application/json' }, body: () => JSON.stringify(jsonRequest([span])) },
  { encoding: 'protobuf' as const, headers: PROTOBUF_TYPE, body: () => protobufRequest([protobufSpan()]) },
];

for (const { encoding, headers, body } of encodings) {
  test(`ingest in ${encoding}: no token or a wrong one is a 401 google.rpc.Status in ${encoding}; the ingest token is let in`, async () => {
    const refused = async (answer: Answer, reason: string) => {
      assert.equal(answer.status, 401, answer.text);
      assert.equal(answer.headers.get('content-type'), headers['content-type']);
      assert.equal(readStatus(answer, encoding).reason, reason);
      assert.match(answer.headers.get('www-authenticate') ?? '', /^Bearer realm="choreoscope-ingest"/);
    };
    await refused(await postTraces(collector.url, body(), headers), 'CHS_ERR_AUTH_TOKEN_MISSING');
    await refused(await postTraces(collector.url, body(), { ...headers, ...bearer(API_TOKEN) }), 'CHS_ERR_AUTH_TOKEN_INVALID');
    await refused(await postTraces(collector.url, body(), { ...headers, authorization: `Basic ${INGEST_TOKEN}` }), 'CHS_ERR_AUTH_TOKEN_INVALID');
    const accepted = await postTraces(collector.url, body(), { ...headers, ...bearer(INGEST_TOKEN) });
    assert.equal(accepted.status, 200, accepted.text);
  });
}

test('ingest refuses other methods without a token before saying they are not allowed', async () => {
  const answer = await send(`${collector.url}/v1/traces`, { method: 'GET' });
  assert.equal(answer.status, 401);
  assert.equal(readStatus(answer, 'json').reason, 'CHS_ERR_AUTH_TOKEN_MISSING');
});

test('the query API, and any unknown route, need the API token and answer a 401 as an ApiErrorBody', async () => {
  const trace = `${collector.url}/api/traces/${span.traceId}`;
  const none = await send(trace, {});
  assert.equal(none.status, 401);
  assert.equal(none.json.error.code, 'CHS_ERR_AUTH_TOKEN_MISSING');
  assert.match(none.json.error.message, /needs the api token/);
  assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="choreoscope-api"');

  const ingestToken = await send(trace, { headers: bearer(INGEST_TOKEN) });
  assert.equal(ingestToken.status, 401);
  assert.equal(ingestToken.json.error.code, 'CHS_ERR_AUTH_TOKEN_INVALID');
  assert.equal(ingestToken.headers.get('www-authenticate'), 'Bearer realm="choreoscope-api", error="invalid_token"');

  const apiToken = await send(trace, { headers: bearer(API_TOKEN) });
  assert.equal(apiToken.status, 200, apiToken.text);
  assert.equal(apiToken.json.spans[0].spanId, span.spanId);

  assert.equal((await send(`${collector.url}/api/nothing-here`, {})).status, 401);
  assert.equal((await send(`${collector.url}/api/nothing-here`, { headers: bearer(API_TOKEN) })).json.error.code, 'CHS_ERR_ROUTE_NOT_FOUND');
});

test('/healthz, /readyz and /metrics answer without a token', async () => {
  for (const path of ['/healthz', '/readyz', '/metrics']) {
    assert.equal((await send(`${collector.url}${path}`, {})).status, 200, path);
  }
});

test('a realm without tokens stays open while the other is closed', async () => {
  const apiOnly = await startCollector(pgliteStores, { server: { apiTokens: [API_TOKEN] } });
  try {
    assert.equal((await postTraces(apiOnly.url, JSON.stringify(jsonRequest([jsonSpan()])))).status, 200);
    assert.equal((await send(`${apiOnly.url}/api/traces/${span.traceId}`, {})).status, 401);
  } finally {
    await apiOnly.close();
  }
});

test('every request logs JSON lines under its id, echoed as X-Request-Id, and no token ever reaches the log', async () => {
  const answer = await send(`${collector.url}/healthz`, { headers: { 'x-request-id': 'probe-42', ...bearer(API_TOKEN) } });
  assert.equal(answer.headers.get('x-request-id'), 'probe-42');
  const generated = await send(`${collector.url}/healthz`, { headers: { 'x-request-id': 'not a plain id\u00e9' } });
  assert.match(generated.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);

  // Fastify's request serializer leaves headers out; any other line that carries some has its credentials redacted
  collector.app.log.info({ request: { headers: { authorization: `Bearer ${INGEST_TOKEN}`, 'proxy-authorization': API_TOKEN } } }, 'headers');

  const lines = logLines.map((line) => JSON.parse(line) as Record<string, any>);
  const probe = lines.filter((line) => line.reqId === 'probe-42');
  assert.deepEqual(probe.map((line) => line.msg), ['incoming request', 'request completed']);
  assert.ok(lines.some((line) => /^unauthorized: /.test(String(line.msg))), 'a refused token is logged, without the token');
  const redacted = lines.find((line) => line.msg === 'headers');
  assert.deepEqual(redacted?.request.headers, { authorization: '[redacted]', 'proxy-authorization': '[redacted]' });

  const all = logLines.join('');
  assert.ok(!all.includes(INGEST_TOKEN), 'the ingest token is not in the log');
  assert.ok(!all.includes(API_TOKEN), 'the API token is not in the log');
});
