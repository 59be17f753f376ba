import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { FastifyInstance } from 'fastify';
import { ERRORS } from '../src/api/errors.ts';
import { buildServer } from '../src/server.ts';
import type { FlowResponse, FlowsResponse } from '../src/api/types.ts';
import { send, waitFor } from './helpers.ts';
import { postSeeds, type SeededSpan } from './seed-spans.ts';
import { pgliteStores, type TestStore } from './stores.ts';

/** The OpenAPI document's parts these tests read. */
interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, object> };
}
interface Operation {
  parameters?: { in: string; name: string; required: boolean }[];
  responses: Record<string, { description: string; content?: { 'application/json': { schema: any } } }>;
}

let testStore: TestStore;
let app: FastifyInstance;
let url: string;
let doc: OpenApiDocument;
let spans: SeededSpan[];
/** Every route the server registered, as `GET /api/traces/{traceId}`. */
const registered: string[] = [];

before(async () => {
  testStore = await pgliteStores.open();
  app = buildServer({ store: testStore.store });
  app.addHook('onRoute', (route) => {
    const path = route.url.replace(/:(\w+)/g, '{$1}');
    for (const method of [route.method].flat()) if (method !== 'HEAD') registered.push(`${method} ${path}`);
  });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
  const answer = await send(`${url}/api/openapi.json`, {});
  assert.equal(answer.status, 200);
  assert.match(answer.headers.get('content-type') ?? '', /^application\/json/);
  doc = JSON.parse(answer.text) as OpenApiDocument;
  const [producer] = spans = await postSeeds(url, [
    { service: 'orders', name: 'publish', kind: 4, startMs: 1_700_000_000_000, durationMs: 2, businessKey: 'order-9', attributes: { n: 1, ok: true, f: 0.5 } },
  ]);
  spans.push(...await postSeeds(url, [
    { service: 'shipping', name: 'process', startMs: 1_700_000_000_100, durationMs: 9, status: 'error', businessKey: 'order-9', links: [producer!] },
  ]));
});
after(async () => {
  await app.close();
  await testStore.dispose();
});

test('the document is OpenAPI 3.1 in JSON', () => {
  assert.match(doc.openapi, /^3\.1\.\d+$/);
  assert.equal(doc.info.title, 'Choreoscope collector query API');
  assert.ok(Object.keys(doc.components.schemas).includes('ApiSpan'), 'the shared span schema under its own name');
});

test('it lists every /api route the server registered, and only those', () => {
  const documented = Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));
  const apiRoutes = registered.filter((route) => route.split(' ')[1]!.startsWith('/api/'));
  assert.ok(apiRoutes.length >= 7, `found ${apiRoutes.join(', ')}`);
  assert.deepEqual(documented.sort(), apiRoutes.sort());
});

test('each route documents its path parameters and its error responses with their catalogue codes', () => {
  const statusOf = new Map(Object.values(ERRORS).map((d) => [d.code as string, d.status]));
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      const where = `${method} ${path}`;
      for (const name of path.match(/(?<=\{)\w+(?=\})/g) ?? []) {
        assert.ok(operation.parameters?.some((p) => p.in === 'path' && p.name === name && p.required), `${where}: path parameter ${name}`);
      }
      assert.ok(operation.responses['200'], `${where}: 200`);
      const errors = Object.entries(operation.responses).filter(([status]) => Number(status) >= 400);
      if (path === '/api/openapi.json') continue;
      assert.ok(errors.some(([status]) => status === '503'), `${where}: the store may be down`);
      for (const [status, response] of errors) {
        const codes: string[] = response.content!['application/json'].schema.properties.error.properties.code.enum;
        assert.ok(codes.length > 0, `${where} ${status}: codes`);
        for (const code of codes) {
          assert.equal(statusOf.get(code), Number(status), `${where}: ${code} is in the catalogue with status ${status}`);
          assert.ok(response.description.includes(code), `${where} ${status}: ${code} in the description`);
        }
      }
    }
  }
  const search = doc.paths['/api/spans']!.get!;
  assert.deepEqual(search.parameters!.map((p) => `${p.in} ${p.name}`).sort(),
    ['attr', 'businessKey', 'cursor', 'end', 'limit', 'maxDurationMs', 'minDurationMs', 'operation', 'service', 'start', 'status']
      .map((name) => `query ${name}`).sort());
  const searchErrors = search.responses['400']!.content!['application/json'].schema.properties.error.properties.code.enum as string[];
  for (const code of ['CHS_ERR_QUERY_PARAMETER_UNKNOWN', 'CHS_ERR_QUERY_TIME_INVALID', 'CHS_ERR_QUERY_LIMIT_INVALID', 'CHS_ERR_QUERY_CURSOR_INVALID']) {
    assert.ok(searchErrors.includes(code), code);
  }
});

test('real answers, successes and errors, match the response schemas the document gives', async () => {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  const [producer, consumer] = spans;
  // the two spans are one flow (the consumer links the producer) once assembled
  let flowId = '';
  await waitFor(async () => {
    const listed = (await send(`${url}/api/flows?businessKey=order-9`, {})).json as FlowsResponse;
    flowId = listed.flows[0]?.flowId ?? '';
    return listed.flows[0]?.spanCount === 2;
  }, 10_000, () => 'the flow of order-9 assembled');
  const requests: [path: string, documented: string, status: number][] = [
    [`/api/traces/${producer!.traceId}`, '/api/traces/{traceId}', 200],
    [`/api/traces/${'f'.repeat(32)}`, '/api/traces/{traceId}', 404],
    ['/api/traces/nope', '/api/traces/{traceId}', 400],
    ['/api/flows?businessKey=order-9', '/api/flows', 200],
    ['/api/flows?anomaly=weird', '/api/flows', 400],
    [`/api/flows/${flowId}`, '/api/flows/{flowId}', 200],
    [`/api/flows/${'a'.repeat(32)}-${'b'.repeat(16)}`, '/api/flows/{flowId}', 404],
    ['/api/flows/order-9', '/api/flows/{flowId}', 400],
    [`/api/spans/${producer!.traceId}/${producer!.spanId}/consumers`, '/api/spans/{traceId}/{spanId}/consumers', 200],
    [`/api/spans/${'f'.repeat(32)}/${'f'.repeat(16)}/consumers`, '/api/spans/{traceId}/{spanId}/consumers', 404],
    ['/api/diagnostics/propagation', '/api/diagnostics/propagation', 200],
    ['/api/catalog', '/api/catalog', 200],
    ['/api/model', '/api/model', 200],
    ['/api/flows?state=running', '/api/flows', 200],
    ['/api/flows?state=asleep', '/api/flows', 400],
    ['/api/diagnostics/propagation?start=yesterday', '/api/diagnostics/propagation', 400],
    ['/api/spans?attr=n:1', '/api/spans', 200],
    ['/api/spans?status=error&limit=1', '/api/spans', 200],
    ['/api/spans?when=now', '/api/spans', 400],
    ['/api/services', '/api/services', 200],
    ['/api/services/orders/operations', '/api/services/{service}/operations', 200],
    ['/api/services/nobody/operations', '/api/services/{service}/operations', 404],
    [`/api/links/${producer!.traceId}/${producer!.spanId}`, '/api/links/{traceId}/{spanId}', 200],
    [`/api/links/${consumer!.traceId}/${consumer!.spanId}`, '/api/links/{traceId}/{spanId}', 200],
    [`/api/links/${consumer!.traceId}/x`, '/api/links/{traceId}/{spanId}', 400],
  ];
  for (const [path, documented, status] of requests) {
    const answer = await send(`${url}${path}`, {});
    assert.equal(answer.status, status, `${path}: ${answer.text}`);
    const schema = doc.paths[documented]!.get!.responses[String(status)]!.content!['application/json'].schema;
    // the document's $refs point into its components: compile each schema with them beside it
    const validate = ajv.compile({ ...schema, components: doc.components });
    assert.ok(validate(answer.json), `${path}: ${ajv.errorsText(validate.errors)}\n${answer.text.slice(0, 500)}`);
  }
  const links = (await send(`${url}/api/links/${producer!.traceId}/${producer!.spanId}`, {})).json;
  assert.equal(links.linkedBy[0].links[0].spanId, producer!.spanId, 'a non-empty answer was among those checked');
  const flow = (await send(`${url}/api/flows/${flowId}`, {})).json as FlowResponse;
  assert.equal(flow.hops.length, 1, 'a flow with a hop was among those checked');
});
