/**
 * Slow clients (slowloris) over raw sockets: a body trickled a byte at a time past the request timeout,
 * headers that stop halfway, and a connection that sends nothing are each answered 408 (in OTLP's form
 * once the headers are in) and closed within a bounded time, logged once each, while a normal export on
 * another connection is answered 200 at once.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { jsonRequest, jsonSpan, postTraces, startCollector, waitFor, type RunningCollector } from './helpers.ts';
import { scrapeMetrics } from './scrape-metrics.ts';
import { pgliteStores } from './stores.ts';

const REQUEST_TIMEOUT_MS = 1_500;
const HEADERS_TIMEOUT_MS = 600;
/** Node checks for expired requests every second at most; the answer must come within this of the timeout. */
const SLACK_MS = 1_500;

const logLines: string[] = [];
let collector: RunningCollector;
let port: number;
before(async () => {
  collector = await startCollector(pgliteStores, {
    server: { requestTimeoutMs: REQUEST_TIMEOUT_MS, headersTimeoutMs: HEADERS_TIMEOUT_MS, logLevel: 'warn', logDestination: { write: (line) => void logLines.push(line) } },
  });
  port = Number(new URL(collector.url).port);
});
after(() => collector.close());

interface RawClient {
  socket: Socket;
  /** Everything the server sent, once it closed the connection; and how long after the start that was. */
  closed: Promise<{ received: string; afterMs: number }>;
}

function rawClient(): RawClient {
  const started = Date.now();
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {}); // a reset after the answer is one way of being dropped
  let received = '';
  socket.setEncoding('utf8').on('data', (text: string) => (received += text));
  const closed = new Promise<{ received: string; afterMs: number }>((resolve) => socket.once('close', () => resolve({ received, afterMs: Date.now() - started })));
  return { socket, closed };
}

/** Writes `text` a byte every `intervalMs` until the socket closes. */
function trickle(socket: Socket, text: string, intervalMs: number): void {
  let at = 0;
  const timer = setInterval(() => {
    if (at >= text.length || socket.destroyed || !socket.writable) return clearInterval(timer);
    socket.write(text[at++]!);
  }, intervalMs);
  socket.once('close', () => clearInterval(timer));
}

async function exportPromptly(): Promise<void> {
  const started = Date.now();
  const answer = await postTraces(collector.url, JSON.stringify(jsonRequest([jsonSpan()])));
  assert.equal(answer.status, 200);
  assert.ok(Date.now() - started < 1_000, `a normal export was answered in ${Date.now() - started} ms`);
}

/** /v1/traces requests as /metrics counts them, by status: `status: count`, sorted. */
async function ingestAnswers(): Promise<string[]> {
  return [...(await scrapeMetrics(collector.url))]
    .filter(([series, count]) => series.startsWith('choreoscope_http_request_duration_seconds_count{') && series.includes('route="/v1/traces"') && count > 0)
    .map(([series, count]) => `${/status="(\d+)"/.exec(series)?.[1]}: ${count}`).sort();
}

function timeoutWarnings(): Array<Record<string, unknown>> {
  return logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.code === 'CHS_ERR_REQUEST_TIMEOUT');
}

test('a body trickled a byte at a time gets a 408 google.rpc.Status and a closed connection once the request timeout passes', async () => {
  const body = JSON.stringify(jsonRequest([jsonSpan()]));
  const client = rawClient();
  client.socket.write(`POST /v1/traces HTTP/1.1\r\nHost: collector\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
  trickle(client.socket, body, 50); // about 20 s for the whole body
  await new Promise((resolve) => setTimeout(resolve, 300));
  await exportPromptly(); // meanwhile, on another connection

  const { received, afterMs } = await client.closed;
  assert.ok(afterMs >= REQUEST_TIMEOUT_MS - 100 && afterMs < REQUEST_TIMEOUT_MS + SLACK_MS, `closed after ${afterMs} ms`);
  const [head, payload] = received.split('\r\n\r\n');
  assert.match(head!, /^HTTP\/1\.1 408 Request Timeout\r\n/);
  assert.match(head!, /\r\nContent-Type: application\/json\r\n/);
  assert.match(head!, /\r\nX-Request-Id: \S+/);
  const status = JSON.parse(payload!) as { message: string; details: Array<{ reason: string }> };
  assert.equal(status.details[0]!.reason, 'CHS_ERR_REQUEST_TIMEOUT');
  assert.match(status.message, new RegExp(`within ${REQUEST_TIMEOUT_MS} ms`));

  // /metrics counts the answer the client got, once the route has seen its body cut off
  await waitFor(async () => (await ingestAnswers()).length === 2, 5_000, 'the timed-out export counted');
  assert.deepEqual(await ingestAnswers(), ['200: 1', '408: 1']);
});

test('headers that stop halfway are answered 408 and dropped after the headers timeout', async () => {
  const client = rawClient();
  client.socket.write('POST /v1/traces HTTP/1.1\r\nHost: collector\r\nContent-Ty');
  await exportPromptly();
  const { received, afterMs } = await client.closed;
  assert.ok(afterMs >= HEADERS_TIMEOUT_MS - 100 && afterMs < HEADERS_TIMEOUT_MS + SLACK_MS, `closed after ${afterMs} ms`);
  assert.match(received, /^HTTP\/1\.1 408 Request Timeout\r\n/);
  assert.equal(JSON.parse(received.split('\r\n\r\n')[1]!).error.code, 'CHS_ERR_REQUEST_TIMEOUT');
});

test('headers trickled a byte at a time, and a connection that sends nothing, are dropped too', async () => {
  const trickling = rawClient();
  trickle(trickling.socket, 'GET /api/services HTTP/1.1\r\nHost: collector\r\nX-Padding: ' + 'x'.repeat(1_000), 20);
  const silent = rawClient();
  await exportPromptly();
  for (const client of [trickling, silent]) {
    const { afterMs } = await client.closed;
    assert.ok(afterMs < HEADERS_TIMEOUT_MS + SLACK_MS, `closed after ${afterMs} ms`);
  }
});

test('a client that hangs up halfway through its body is counted in /metrics as status 499, the others unchanged', async () => {
  const client = rawClient();
  client.socket.write('POST /v1/traces HTTP/1.1\r\nHost: collector\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"resourceSpans"');
  await new Promise((resolve) => setTimeout(resolve, 100));
  client.socket.destroy();
  await waitFor(async () => (await ingestAnswers()).some((answer) => answer.startsWith('499')), 5_000, 'the hang-up counted');
  assert.deepEqual(await ingestAnswers(), ['200: 3', '408: 1', '499: 1']);
});

test('each timed-out request is logged once, as a warning with its code, and nothing else is logged', () => {
  assert.deepEqual(logLines.filter((line) => !line.includes('CHS_ERR_REQUEST_TIMEOUT')), []);
  const warnings = timeoutWarnings();
  assert.equal(warnings.length, 4, JSON.stringify(warnings));
  for (const warning of warnings) assert.equal(warning.level, 40);
  assert.equal(warnings.filter((w) => w.headersReceived === true).length, 1, 'only the trickled body had its headers in');
});
