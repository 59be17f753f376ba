import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import type { ForwardOptions } from '../src/forwarding/forwarder.ts';
import { CollectorMetrics } from '../src/ops/metrics.ts';
import { jsonRequest, jsonSpan, postTraces, startCollector, waitFor, type RunningCollector } from './helpers.ts';
import { PROTOBUF_TYPE, protobufRequest, protobufSpan } from './otlp-messages.ts';
import { scrapeMetrics } from './scrape-metrics.ts';
import { pgliteStores } from './stores.ts';

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

/** A loopback OTLP endpoint that records each request and lets `answer` reply to the n-th (or not). */
async function startTarget(answer: (index: number, response: ServerResponse) => void, port = 0): Promise<Target> {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const { 'content-type': contentType, authorization } = request.headers;
      received.push({ body: Buffer.concat(chunks), contentType, authorization, atMs: Date.now() });
      answer(received.length - 1, response);
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
    const [first, retried, second] = target.received as [Received, Received, Received];
    assert.deepEqual(first.body, Buffer.from(protobuf));
    assert.deepEqual(retried.body, Buffer.from(protobuf));
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
  const collector = await forwardingCollector({ url: reserved.url, maxQueueBatches: 2, initialBackoffMs: 20, maxBackoffMs: 100 });
  let target: Target | undefined;
  try {
    const bodies = Array.from({ length: 5 }, jsonBody);
    for (const body of bodies) assert.equal((await postTraces(collector.url, body)).status, 200);
    await waitFor(async () => ((await scrapeMetrics(collector.url)).get('choreoscope_forward_retries_total') ?? 0) >= 2, 5_000, 'retries');
    const m = await scrapeMetrics(collector.url);
    assert.equal(m.get('choreoscope_forward_batches_dropped_total{reason="queue_full"}'), 2);
    assert.equal(m.get('choreoscope_forward_queue_batches'), 2);

    target = await startTarget((_index, response) => ok(response), port);
    await waitFor(() => target!.received.length === 3, 5_000, 'the batches left');
    // the first was in flight, the second and third were dropped for the fourth and fifth
    assert.deepEqual(target.received.map((r) => r.body.toString()), [bodies[0], bodies[3], bodies[4]]);
    assert.equal((await scrapeMetrics(collector.url)).get('choreoscope_forward_queue_batches'), 0);
    const messages = collector.logLines.map((line) => (JSON.parse(line) as { msg: string }).msg);
    assert.equal(messages.filter((msg) => /queue is full/.test(msg)).length, 1, 'one warning for the spell of drops');
    assert.equal(messages.filter((msg) => /does not accept/.test(msg)).length, 1, 'one warning for the spell of failures');
  } finally {
    await collector.close();
    await target?.close();
  }
});

test('ingest answers at once while the target hangs, and shutdown gives up on it after the flush time', async () => {
  const target = await startTarget(() => {}); // reads each request, never answers
  const metrics = new CollectorMetrics();
  const collector = await startCollector(pgliteStores, { server: { metrics, forward: { url: target.url, flushTimeoutMs: 300 } } });
  try {
    for (let i = 0; i < 3; i += 1) {
      const started = performance.now();
      assert.equal((await postTraces(collector.url, jsonBody())).status, 200);
      assert.ok(performance.now() - started < 1_000, 'the export was answered without waiting for the target');
    }
    await waitFor(() => target.received.length === 1, 5_000, 'the first batch to reach the hung target');
  } finally {
    const closing = performance.now();
    await collector.close();
    assert.ok(performance.now() - closing < 3_000, 'close waited about the flush time, not the request timeout');
    await target.close();
  }
  const text = (await metrics.render()).text;
  assert.match(text, /^choreoscope_forward_batches_dropped_total\{reason="shutdown"\} 3$/m);
});

test('shutdown sends the batches still waiting when the target answers within the flush time', async () => {
  const target = await startTarget((_index, response) => setTimeout(() => ok(response), 50));
  const collector = await forwardingCollector({ url: target.url });
  const bodies = Array.from({ length: 3 }, jsonBody);
  for (const body of bodies) assert.equal((await postTraces(collector.url, body)).status, 200);
  await collector.close();
  assert.deepEqual(target.received.map((r) => r.body.toString()), bodies);
  await target.close();
});
