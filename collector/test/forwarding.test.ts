import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { ForwardOptions } from '../src/forwarding/forwarder.ts';
import { CollectorMetrics } from '../src/ops/metrics.ts';
import { buildServer } from '../src/server.ts';
import { openPostgresStore } from '../src/store/postgres-store.ts';
import { freshDataDir, jsonRequest, jsonSpan, postTraces, removeDir, spawnCollector, startCollector, waitFor, type RunningCollector } from './helpers.ts';
import { PROTOBUF_TYPE, protobufRequest, protobufSpan } from './otlp-messages.ts';
import { scrapeMetrics } from './scrape-metrics.ts';
import { dropDatabase, freshDatabase, pgliteStores } from './stores.ts';

interface Received {
  body: Buffer;
  contentType: string | undefined;
  authorization: string | undefined;
  atMs: number;
}

interface Target {
  url: string;
  received: Received[];
  close(): Promise<void>;
}

/** A loopback OTLP endpoint that records each request and lets `answer` reply to the n-th (or not), given its body. */
async function startTarget(answer: (index: number, response: ServerResponse, body: string) => void, port = 0): Promise<Target> {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const { 'content-type': contentType, authorization } = request.headers;
      received.push({ body: Buffer.concat(chunks), contentType, authorization, atMs: Date.now() });
      answer(received.length - 1, response, received.at(-1)!.body.toString());
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`,
    received,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

const ok = (response: ServerResponse) => response.writeHead(200, { 'content-type': 'application/json' }).end('{}');

/** A collector forwarding to `forward.url`, and the lines it logs at info and above. */
async function forwardingCollector(forward: ForwardOptions): Promise<RunningCollector & { logLines: string[] }> {
  const logLines: string[] = [];
  const logDestination = { write: (line: string) => void logLines.push(line) };
  const collector = await startCollector(pgliteStores, { server: { metrics: new CollectorMetrics(), forward, logLevel: 'info', logDestination } });
  return { ...collector, logLines };
}

const jsonBody = () => JSON.stringify(jsonRequest([jsonSpan()]));

/** Two collectors, each with its own pool, on one new PostgreSQL database, forwarding as `forward` says. */
async function collectorsSharingADatabase(forward: ForwardOptions): Promise<{ urls: string[]; close(): Promise<void> }> {
  const databaseUrl = await freshDatabase();
  const stores = [await openPostgresStore({ databaseUrl }), await openPostgresStore({ databaseUrl })];
  const apps = stores.map((store) => buildServer({ store, forward }));
  return {
    urls: await Promise.all(apps.map((app) => app.listen({ host: '127.0.0.1', port: 0 }))),
    async close() {
      for (const app of apps) await app.close();
      for (const store of stores) await store.close();
      await dropDatabase(databaseUrl);
    },
  };
}


test('a batch answered 503 with Retry-After is sent again after that wait, then arrives once, byte for byte, under its content type', async () => {
  const target = await startTarget((index, response) => (index === 0 ? response.writeHead(503, { 'retry-after': '1' }).end() : ok(response)));
  const collector = await forwardingCollector({ url: target.url, headers: { authorization: 'Bearer forward-secret' }, initialBackoffMs: 10 });
  try {
    const protobuf = protobufRequest([protobufSpan()]);
    const json = jsonBody();
    assert.equal((await postTraces(collector.url, protobuf, PROTOBUF_TYPE)).status, 200);
    const gzipped = { 'content-type': 'application/json; charset=utf-8', 'content-encoding': 'gzip' };
    assert.equal((await postTraces(collector.url, gzipSync(json), gzipped)).status, 200);

    await waitFor(() => target.received.length >= 3, 10_000, 'the retry and the second batch');
    // the second is not held up behind the first's retry: another sender takes it meanwhile
    const [first, retried] = target.received.filter((r) => r.contentType === 'application/x-protobuf') as [Received, Received];
    const second = target.received.find((r) => r.contentType !== 'application/x-protobuf')!;
    assert.deepEqual(first.body, Buffer.from(protobuf));
    assert.deepEqual(retried.body, Buffer.from(protobuf));
    assert.ok(second.atMs < retried.atMs, 'the second batch went while the first waited to retry');
    assert.equal(retried.contentType, 'application/x-protobuf');
    assert.ok(retried.atMs - first.atMs >= 950, `Retry-After: 1 was honoured (waited ${retried.atMs - first.atMs} ms)`);
    assert.equal(second.body.toString(), json, 'a gzipped export is forwarded inflated');
    assert.equal(second.contentType, 'application/json; charset=utf-8');
    assert.equal(second.authorization, 'Bearer forward-secret');

    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(target.received.length, 3, 'each batch arrived once after its success');
    const m = await scrapeMetrics(collector.url);
    assert.equal(m.get('choreoscope_forward_batches_sent_total'), 2);
    assert.equal(m.get('choreoscope_forward_retries_total'), 1);
    assert.ok(!collector.logLines.join('').includes('forward-secret'), 'the forward header is not logged');
  } finally {
    await collector.close();
    await target.close();
  }
});

test('a batch the target answers 400 is dropped, not retried; a re-sent export is not forwarded again', async () => {
  const target = await startTarget((_index, response) => response.writeHead(400).end('no'));
  const collector = await forwardingCollector({ url: target.url, initialBackoffMs: 10, maxBackoffMs: 20 });
  try {
    const body = jsonBody();
    assert.equal((await postTraces(collector.url, body)).status, 200);
    await waitFor(() => target.received.length === 1, 5_000, 'the first attempt');
    assert.equal((await postTraces(collector.url, body)).status, 200); // all duplicates
    await new Promise((resolve) => setTimeout(resolve, 300)); // several backoffs' worth
    assert.equal(target.received.length, 1);
    const m = await scrapeMetrics(collector.url);
    assert.equal(m.get('choreoscope_forward_batches_dropped_total{reason="rejected"}'), 1);
    assert.equal(m.get('choreoscope_forward_retries_total'), 0);
  } finally {
    await collector.close();
    await target.close();
  }
});

test('a target that is down is retried while the queue, at its bound, drops the oldest batches; they flow once it is up', async () => {
  const reserved = await startTarget(() => {});
  const port = Number(new URL(reserved.url).port);
  await reserved.close(); // nothing listens there now: connection refused
  // one sender: it holds the first batch while the others wait in the queue, where its bound applies
  const collector = await forwardingCollector({ url: reserved.url, maxQueueBatches: 2, initialBackoffMs: 20, maxBackoffMs: 100, maxConcurrentRequests: 1 });
  let target: Target | undefined;
  try {
    const bodies = Array.from({ length: 5 }, jsonBody);
    assert.equal((await postTraces(collector.url, bodies[0]!)).status, 200);
    const retries = async () => (await scrapeMetrics(collector.url)).get('choreoscope_forward_retries_total') ?? 0;
    await waitFor(async () => (await retries()) >= 1, 5_000, 'the first batch in flight, retried');
    for (const body of bodies.slice(1)) assert.equal((await postTraces(collector.url, body)).status, 200);
    await waitFor(async () => (await retries()) >= 2, 5_000, 'retries');
    const m = await scrapeMetrics(collector.url);
    assert.equal(m.get('choreoscope_forward_batches_dropped_total{reason="queue_full"}'), 2);
    assert.equal(m.get('choreoscope_forward_queue_batches'), 2);

    target = await startTarget((_index, response) => ok(response), port);
    await waitFor(() => target!.received.length === 3, 5_000, 'the batches left');
    // the first was in flight, the second and third were dropped for the fourth and fifth
    assert.deepEqual(target.received.map((r) => r.body.toString()).sort(), [bodies[0], bodies[3], bodies[4]].sort());
    await waitFor(async () => (await scrapeMetrics(collector.url)).get('choreoscope_forward_queue_batches') === 0, 5_000, 'the gauge at 0');
    const messages = collector.logLines.map((line) => (JSON.parse(line) as { msg: string }).msg);
    assert.equal(messages.filter((msg) => /queue is full/.test(msg)).length, 1, 'one warning for the spell of drops');
    assert.equal(messages.filter((msg) => /does not accept/.test(msg)).length, 1, 'one warning for the spell of failures');
  } finally {
    await collector.close();
    await target?.close();
  }
});

test('ingest answers at once while the target hangs; shutdown stops after the flush time, and the next start sends every batch left', async () => {
  const hung = await startTarget(() => {}); // reads each request, never answers
  const { store, dispose } = await pgliteStores.open();
  const metrics = new CollectorMetrics();
  const first = buildServer({ store, metrics, forward: { url: hung.url, flushTimeoutMs: 300 } });
  const firstUrl = await first.listen({ host: '127.0.0.1', port: 0 });
  const bodies = Array.from({ length: 3 }, jsonBody);
  let target: Target | undefined;
  try {
    for (const body of bodies) {
      const started = performance.now();
      assert.equal((await postTraces(firstUrl, body)).status, 200);
      assert.ok(performance.now() - started < 1_000, 'the export was answered without waiting for the target');
    }
    await waitFor(() => hung.received.length === bodies.length, 5_000, 'every batch in flight to the hung target');
    const closing = performance.now();
    await first.close();
    assert.ok(performance.now() - closing < 3_000, 'close waited about the flush time, not the request timeout');
    assert.match((await metrics.render()).text, /^choreoscope_forward_batches_dropped_total\{reason="rejected"\} 0$/m);
    assert.deepEqual(await store.forwardQueue.size(), { batches: 3, bytes: bodies.reduce((sum, body) => sum + body.length, 0) },
      'all three stay queued, released by the senders that held them');

    // a new server on the same store, knowing nothing of the first, sends them
    target = await startTarget((_index, response) => ok(response));
    const second = buildServer({ store, forward: { url: target.url } });
    await second.listen({ host: '127.0.0.1', port: 0 });
    try {
      await waitFor(() => target!.received.length === 3, 5_000, 'the batches left by the first server');
      assert.deepEqual(target.received.map((r) => r.body.toString()).sort(), [...bodies].sort(), 'each once');
      await waitFor(async () => (await store.forwardQueue.size()).batches === 0, 5_000, 'the queue emptied');
    } finally {
      await second.close();
    }
  } finally {
    await dispose();
    await hung.close();
    await target?.close();
  }
});

test('a collector killed with SIGKILL while its target is down forwards every acknowledged export after a restart', async () => {
  const reserved = await startTarget(() => {});
  const port = Number(new URL(reserved.url).port);
  await reserved.close(); // nothing listens there: every attempt is refused and retried
  const dataDir = await freshDataDir();
  const args = ['--data-dir', dataDir, '--forward-url', reserved.url, '--forward-timeout-ms', '1000', '--log-level', 'warn'];
  let target: Target | undefined;
  let collector = await spawnCollector(args);
  try {
    const bodies = Array.from({ length: 6 }, jsonBody);
    for (const body of bodies) assert.equal((await postTraces(collector.url, body)).status, 200);
    collector.child.kill('SIGKILL');
    await collector.exited;

    target = await startTarget((_index, response) => ok(response), port);
    collector = await spawnCollector(args);
    // the batch in flight at the kill waits for its lease (the attempt's 1 s and a margin) to lapse
    await waitFor(() => new Set(target!.received.map((r) => r.body.toString())).size === bodies.length, 15_000, 'every acknowledged export forwarded');
    assert.deepEqual(new Set(target.received.map((r) => r.body.toString())), new Set(bodies));
    assert.ok(target.received.length <= bodies.length + 1, 'at most the batch in flight at the kill is sent twice');
  } finally {
    collector.child.kill('SIGKILL');
    await collector.exited;
    await target?.close();
    removeDir(join(dataDir, '..'));
  }
});

test('two collectors on one PostgreSQL database share its forward queue: each export is sent once, by one of them', async () => {
  const target = await startTarget((_index, response) => setTimeout(() => ok(response), 300));
  const collectors = await collectorsSharingADatabase({ url: target.url, pollIntervalMs: 50 });
  const { urls } = collectors;
  try {
    const bodies = Array.from({ length: 12 }, jsonBody);
    // all to the first collector: it leases the first wave and is busy with it (the target is slow),
    // so the second, polling the shared queue, takes the second wave; neither takes what the other holds
    for (const body of bodies.slice(0, 6)) assert.equal((await postTraces(urls[0]!, body)).status, 200);
    await waitFor(() => target.received.length > 0, 5_000, 'the first wave on its way');
    for (const body of bodies.slice(6)) assert.equal((await postTraces(urls[0]!, body)).status, 200);
    await waitFor(() => target.received.length >= bodies.length, 10_000, 'every export forwarded');
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(target.received.length, bodies.length, 'none sent twice');
    assert.deepEqual(new Set(target.received.map((r) => r.body.toString())), new Set(bodies));
    const sentBy = await Promise.all(urls.map(async (url) => (await scrapeMetrics(url)).get('choreoscope_forward_batches_sent_total')));
    assert.ok(sentBy.every((sent) => sent! > 0), `both collectors forwarded some: ${sentBy}`);
  } finally {
    await collectors.close();
    await target.close();
  }
});

test('a batch the target keeps refusing holds up no other, and each batch sent is deleted at once, not sent again by the next start', async () => {
  const stuck = jsonBody();
  // the target takes everything but the stuck batch
  const target = await startTarget((_index, response, body) => (body === stuck ? response.writeHead(503, { 'retry-after': '1' }).end() : ok(response)));
  const { store, dispose } = await pgliteStores.open();
  const first = buildServer({ store, forward: { url: target.url, flushTimeoutMs: 200 } });
  const url = await first.listen({ host: '127.0.0.1', port: 0 });
  let second: ReturnType<typeof buildServer> | undefined;
  const after = await startTarget((_index, response) => ok(response));
  try {
    assert.equal((await postTraces(url, stuck)).status, 200);
    await waitFor(() => target.received.length >= 1, 5_000, 'the stuck batch refused once');
    const others = Array.from({ length: 3 }, jsonBody);
    const sentAt = Date.now();
    for (const body of others) assert.equal((await postTraces(url, body)).status, 200);
    await waitFor(() => others.every((body) => target.received.some((r) => r.body.toString() === body)), 5_000, 'the others, past the stuck one');
    assert.ok(Date.now() - sentAt < 2_000, 'the others did not wait for the stuck batch to give up');
    await first.close();

    // a new server on the same store finds only the stuck batch: the others were deleted as they went
    second = buildServer({ store, forward: { url: after.url } });
    await second.listen({ host: '127.0.0.1', port: 0 });
    await waitFor(() => after.received.length >= 1, 5_000, 'the stuck batch, sent by the next start');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(after.received.map((r) => r.body.toString()), [stuck]);
  } finally {
    await second?.close();
    await dispose();
    await target.close();
    await after.close();
  }
});

test('a lease outlives a slow request: renewed on time, a batch is not taken by another collector while it is being sent', async () => {
  const target = await startTarget((_index, response) => setTimeout(() => ok(response), 2_500));
  // a lease of 800 ms, a third of each request: without renewal, the second collector would take each batch while the first sends it
  const collectors = await collectorsSharingADatabase({ url: target.url, leaseMs: 800, pollIntervalMs: 50 });
  const { urls } = collectors;
  try {
    const bodies = Array.from({ length: 4 }, jsonBody);
    for (const body of bodies) assert.equal((await postTraces(urls[0]!, body)).status, 200);
    await waitFor(() => target.received.length >= bodies.length, 10_000, 'every export forwarded');
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // past a lapsed lease's retake
    assert.equal(target.received.length, bodies.length, 'none sent twice');
  } finally {
    await collectors.close();
    await target.close();
  }
});

test('a collector started without forwarding on a store holding queued exports says so, once, at start', async () => {
  const reserved = await startTarget(() => {});
  await reserved.close(); // nothing listens: the exports stay queued
  const { store, dispose } = await pgliteStores.open();
  const logLines: string[] = [];
  try {
    const forwarding = buildServer({ store, forward: { url: reserved.url, flushTimeoutMs: 100, initialBackoffMs: 10 } });
    const url = await forwarding.listen({ host: '127.0.0.1', port: 0 });
    for (let i = 0; i < 2; i += 1) assert.equal((await postTraces(url, jsonBody())).status, 200);
    await forwarding.close();

    const plain = buildServer({ store, logLevel: 'warn', logDestination: { write: (line) => void logLines.push(line) } });
    await plain.listen({ host: '127.0.0.1', port: 0 });
    await plain.close();
    const warnings = logLines.map((line) => JSON.parse(line) as { msg: string; batches?: number }).filter((entry) => /queued for forwarding/.test(entry.msg));
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.batches, 2);
  } finally {
    await dispose();
  }
});

test('shutdown sends the batches still waiting when the target answers within the flush time', async () => {
  const target = await startTarget((_index, response) => setTimeout(() => ok(response), 50));
  const collector = await forwardingCollector({ url: target.url });
  const bodies = Array.from({ length: 3 }, jsonBody);
  for (const body of bodies) assert.equal((await postTraces(collector.url, body)).status, 200);
  await collector.close();
  assert.deepEqual(target.received.map((r) => r.body.toString()).sort(), [...bodies].sort(), 'each once');
  await target.close();
});
