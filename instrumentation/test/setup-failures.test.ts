// startTracing when the collector fails: the service says so in its log while it runs (once per kind
// of failure), and its shutdown handler still finishes, in bounded time, with the collector down.
// startTracing registers the global OpenTelemetry providers, so this file never uses tracing.ts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { trace } from '@opentelemetry/api';
import { startTracing } from '../src/setup.ts';
import { waitFor } from './kafka-fixture.ts';
import { restoreOtelEnv, setOtelEnv, stopTracing } from './otel-env.ts';
import { deadCollectorUrl, startReceiver, type Receiver } from './otlp-receiver.ts';

let receiver: Receiver;
before(async () => {
  receiver = await startReceiver();
});
after(async () => {
  restoreOtelEnv();
  await receiver.close();
});

const oneSpan = (name: string) => trace.getTracer('test').startSpan(name).end();

test('a refused token is logged once while the service runs, and so is the recovery', async () => {
  receiver.requests.length = 0;
  receiver.status = 401;
  // Export every 20 ms, as a busy service's batches would leave.
  setOtelEnv({ OTEL_BSP_SCHEDULE_DELAY: '20' });
  const lines: string[] = [];
  const tracing = startTracing({ serviceName: 'order', collectorUrl: receiver.url, log: (line) => lines.push(line) });
  try {
    for (let i = 1; i <= 3; i++) {
      oneSpan(`refused ${i}`);
      await waitFor(() => receiver.requests.length === i, 5_000, `export ${i}`);
    }
    await waitFor(() => lines.length > 0, 5_000, 'the log line');
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0]!, new RegExp(`^choreoscope: cannot export spans to ${receiver.url}/v1/traces: the collector refused the credentials \\(HTTP 401\\)`));

    receiver.status = 200;
    oneSpan('accepted');
    await waitFor(() => lines.length === 2, 5_000, 'the recovery line');
    assert.match(lines[1]!, /spans reach .* again; 3 spans were dropped while exports failed/);
  } finally {
    receiver.status = 200;
    await stopTracing(tracing);
  }
  assert.deepEqual(receiver.spans().map((span) => span.name), ['accepted']);
  assert.equal(lines.length, 2, lines.join('\n'));
});

test('shutdown with spans queued and the collector down resolves within the exporter timeout, saying why once', async () => {
  const timeoutMs = 1_000;
  // Nothing leaves before shutdown: the spans are still queued when it starts.
  setOtelEnv({ OTEL_BSP_SCHEDULE_DELAY: '60000', OTEL_EXPORTER_OTLP_TIMEOUT: String(timeoutMs) });
  const lines: string[] = [];
  const tracing = startTracing({ serviceName: 'order', collectorUrl: await deadCollectorUrl(), log: (line) => lines.push(line) });
  for (let i = 0; i < 5; i++) oneSpan(`queued ${i}`);
  assert.deepEqual(lines, [], 'nothing exported yet');

  const started = performance.now();
  await stopTracing(tracing); // rejects if shutdown does
  const elapsedMs = performance.now() - started;
  assert.ok(elapsedMs < timeoutMs + 500, `shutdown took ${Math.round(elapsedMs)} ms`);
  assert.equal(lines.length, 1, lines.join('\n'));
  assert.match(lines[0]!, /the collector is unreachable \(ECONNREFUSED\)/);
  await tracing.shutdown(); // a second call (a second signal) is as harmless
});
