// Failed exports said in the service's log, with the real OTLP/HTTP exporter underneath: a collector
// that is down, one that refuses the token, one with an error of its own. One line per kind of failure
// however many batches fail, and one when spans get through again.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ReportingSpanExporter } from '../src/reporting-exporter.ts';
import { deadCollectorUrl, startReceiver, type Receiver } from './otlp-receiver.ts';

/** Below the exporter's first retry backoff (1 s ± 20 %): a refused connection fails the export at once. */
const TIMEOUT_MS = 500;

let receiver: Receiver;
before(async () => {
  receiver = await startReceiver();
});
after(() => receiver.close());

/** Finished spans from a provider of their own (no globals), ready to export. */
function someSpans(count: number): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] }).getTracer('test');
  for (let i = 0; i < count; i++) tracer.startSpan(`span ${i}`).end();
  return memory.getFinishedSpans();
}

function reportingExporter(url: string): { exporter: ReportingSpanExporter; lines: string[] } {
  const lines: string[] = [];
  const otlp = new OTLPTraceExporter({ url: `${url}/v1/traces`, timeoutMillis: TIMEOUT_MS });
  return { exporter: new ReportingSpanExporter(otlp, `${url}/v1/traces`, (line) => lines.push(line)), lines };
}

const exportOnce = (exporter: ReportingSpanExporter, spans: ReadableSpan[]) =>
  new Promise<ExportResult>((resolve) => exporter.export(spans, resolve));

test('a collector that is down is reported once, however many exports fail', async () => {
  const url = await deadCollectorUrl();
  const { exporter, lines } = reportingExporter(url);
  try {
    for (let i = 0; i < 3; i++) {
      const result = await exportOnce(exporter, someSpans(2));
      assert.equal(result.code, ExportResultCode.FAILED, 'the caller still learns that the export failed');
    }
  } finally {
    await exporter.shutdown();
  }
  assert.equal(lines.length, 1, lines.join('\n'));
  assert.match(lines[0]!, /^choreoscope: cannot export spans to http:\/\/127\.0\.0\.1:\d+\/v1\/traces: the collector is unreachable \(ECONNREFUSED\)/);
  assert.doesNotMatch(lines[0]!, /\n/, 'one line');
});

test('a refused token and an HTTP error are reported once each, and the recovery once with the spans lost', async () => {
  const { exporter, lines } = reportingExporter(receiver.url);
  receiver.requests.length = 0;
  try {
    receiver.status = 401;
    for (let i = 0; i < 3; i++) await exportOnce(exporter, someSpans(1));
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0]!, /the collector refused the credentials \(HTTP 401\): check the ingest token/);

    receiver.status = 500;
    for (let i = 0; i < 2; i++) await exportOnce(exporter, someSpans(1));
    assert.equal(lines.length, 2, lines.join('\n'));
    assert.match(lines[1]!, /the collector answered HTTP 500 Internal Server Error/);

    receiver.status = 200;
    for (let i = 0; i < 2; i++) assert.equal((await exportOnce(exporter, someSpans(1))).code, ExportResultCode.SUCCESS);
    assert.equal(lines.length, 3, lines.join('\n'));
    assert.equal(lines[2], `choreoscope: spans reach ${receiver.url}/v1/traces again; 5 spans were dropped while exports failed`);

    // A new outage after the recovery is news again.
    receiver.status = 403;
    await exportOnce(exporter, someSpans(1));
    assert.equal(lines.length, 4, lines.join('\n'));
    assert.match(lines[3]!, /refused the credentials \(HTTP 403\)/);
  } finally {
    receiver.status = 200;
    await exporter.shutdown();
  }
  assert.equal(receiver.requests.length, 8, 'no export was retried: 401, 403 and 500 are final');
});

test('a logger that throws does not stop the export pipeline', async () => {
  const otlp = new OTLPTraceExporter({ url: `${await deadCollectorUrl()}/v1/traces`, timeoutMillis: TIMEOUT_MS });
  const exporter = new ReportingSpanExporter(otlp, 'nowhere', () => {
    throw new Error('logger broke');
  });
  try {
    assert.equal((await exportOnce(exporter, someSpans(1))).code, ExportResultCode.FAILED);
  } finally {
    await exporter.shutdown();
  }
});
