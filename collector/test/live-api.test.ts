/**
 * GET /api/live through a real collector, on both stores: a client reading the event stream hears each
 * round of assembly as it commits (flows written, events newly seen on each edge of the choreography); a
 * client following one flow hears of that flow only; on PostgreSQL, a second collector on the database,
 * assembling nothing, hears the same, and its listening connection cut by the server is opened again with
 * a `resync` event, since changes may have been missed meanwhile.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import type { LiveFlow, LiveTraffic } from '../src/api/types.ts';
import { buildServer } from '../src/server.ts';
import { openPostgresStore } from '../src/store/postgres-store.ts';
import { FIXTURE_KEY_ATTRIBUTES, flowWith, postFixtureSpans } from './fixture-flows-api.ts';
import { readFlowFixtures } from './flow-fixtures.ts';
import { startCollector, waitFor, type RunningCollector } from './helpers.ts';
import { forEachStore } from './stores.ts';

const chain = readFlowFixtures().find((fixture) => fixture.name === 'clean-chain-parent')!;

interface Stream {
  status: number;
  contentType: string | null;
  events: { event: string; data: Record<string, unknown> }[];
  close(): void;
}

/** Reads the event stream as a browser's fetch would, parsing each event as it arrives. */
async function openStream(url: string): Promise<Stream> {
  const controller = new AbortController();
  const response = await fetch(url, { signal: controller.signal });
  const stream: Stream = { status: response.status, contentType: response.headers.get('content-type'), events: [], close: () => controller.abort() };
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body!) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.+)$/m.exec(block)?.[1];
          const data = /^data: (.+)$/m.exec(block)?.[1];
          if (event !== undefined && data !== undefined) stream.events.push({ event, data: JSON.parse(data) as Record<string, unknown> });
        }
      }
    } catch {
      // aborted
    }
  })();
  return stream;
}

const flowsIn = (stream: Stream) => stream.events.flatMap((e) => (e.event === 'flows' ? e.data.flows as LiveFlow[] : []));
const trafficIn = (stream: Stream) => stream.events.flatMap((e) => (e.event === 'traffic' ? e.data.traffic as LiveTraffic[] : []));

forEachStore((kind) => {
  let collector: RunningCollector;
  const streams: Stream[] = [];
  before(async () => {
    collector = await startCollector(kind, { server: { businessKeyAttributes: FIXTURE_KEY_ATTRIBUTES, flows: { pollIntervalMs: 50 } } });
  });
  after(async () => {
    for (const stream of streams) stream.close();
    await collector.close();
  });
  const open = async (url: string) => {
    const stream = await openStream(url);
    streams.push(stream);
    return stream;
  };

  test('each round is heard as it commits; a client following one flow hears of it alone', async () => {
    const head = chain.spans.filter((span) => ['order.http', 'order.send'].includes(span.id));
    await postFixtureSpans(collector.url, chain, head, 'live-a:');
    const followed = (await flowWith(collector.url, chain, 'order.send', 'live-a:', 2)).flow.flowId;

    const all = await open(`${collector.url}/api/live`);
    const one = await open(`${collector.url}/api/live?flowId=${followed}`);
    assert.deepEqual([all.status, all.contentType], [200, 'text/event-stream; charset=utf-8']);
    await waitFor(() => all.events[0]?.event === 'hello' && one.events[0]?.event === 'hello', 5_000, () => 'hello');
    assert.equal(one.events[0]!.data.flowId, followed);

    await postFixtureSpans(collector.url, chain, chain.spans.filter((span) => !head.includes(span)), 'live-a:');
    await postFixtureSpans(collector.url, chain, chain.spans, 'live-b:');
    await waitFor(() => flowsIn(one).some((flow) => flow.spanCount === chain.spans.length), 10_000, () => `the followed flow complete: ${JSON.stringify(flowsIn(one))}`);
    await waitFor(() => new Set(flowsIn(all).filter((f) => f.spanCount === chain.spans.length).map((f) => f.flowId)).size === 2, 10_000,
      () => `both flows complete on the unfiltered stream: ${JSON.stringify(flowsIn(all))}`);
    assert.ok(flowsIn(one).every((flow) => flow.flowId === followed), 'the filtered stream told of its flow only');
    assert.ok(one.events.every((e) => e.event === 'hello' || e.event === 'flows'), 'and nothing else');
    const complete = flowsIn(all).find((flow) => flow.flowId === followed && flow.spanCount === chain.spans.length)!;
    assert.deepEqual(complete.eventTypes, ['OrderCreated', 'PaymentAuthorized', 'StockReserved', 'ShipmentScheduled']);
    const edges = new Set(trafficIn(all).map((t) => `${t.role} ${t.service} ${t.eventType}`));
    for (const edge of ['producer order OrderCreated', 'consumer payment OrderCreated', 'producer payment PaymentAuthorized', 'consumer notification ShipmentScheduled']) {
      assert.ok(edges.has(edge), `${edge} in ${[...edges].join('; ')}`);
    }
  });

  if (kind.name === 'PostgreSQL') {
    test('a second collector on the database hears what the first assembles; a lost listening connection comes back with a resync', async () => {
      const store = await openPostgresStore({ databaseUrl: collector.databaseUrl!, maxConnections: 2 });
      const second = buildServer({ store, flows: { assemble: false } });
      const url = await second.listen({ host: '127.0.0.1', port: 0 });
      try {
        const stream = await open(`${url}/api/live`);
        await waitFor(() => stream.events[0]?.event === 'hello', 5_000, () => 'hello');
        await postFixtureSpans(collector.url, chain, chain.spans, 'live-c:');
        await waitFor(() => flowsIn(stream).some((flow) => flow.spanCount === chain.spans.length), 10_000, () => 'heard on the other collector');

        const admin = new pg.Client(collector.databaseUrl);
        await admin.connect();
        const { rows } = await admin.query(`SELECT pg_terminate_backend(pid) AS cut FROM pg_stat_activity
          WHERE application_name = 'choreoscope-live' AND datname = current_database()`);
        await admin.end();
        assert.ok(rows.length >= 1, 'the listening connections cut');
        await waitFor(() => stream.events.some((e) => e.event === 'resync'), 10_000, () => 'told to resync');
        const before = flowsIn(stream).length;
        await postFixtureSpans(collector.url, chain, chain.spans, 'live-d:');
        await waitFor(() => flowsIn(stream).length > before, 10_000, () => 'hearing again after the reconnection');
      } finally {
        await second.close();
        await store.close();
      }
    });
  }
});
