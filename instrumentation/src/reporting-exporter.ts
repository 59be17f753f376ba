// The OTLP exporter reports a failed export only to OpenTelemetry's diagnostic logger, which services
// rarely set up: a wrong token or a collector that is down would lose every span without a word.
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { classifyExportFailure, type ExportFailureKind } from './export-failure.ts';

/**
 * A span exporter that says in the service's log when exports fail: one line per kind of failure
 * (not one per batch), and one line when they succeed again, with the number of spans lost meanwhile.
 */
export class ReportingSpanExporter implements SpanExporter {
  /** Kinds logged since exports last succeeded; a new outage after a recovery is logged again. */
  private readonly reported = new Set<ExportFailureKind>();
  private lostSpans = 0;

  constructor(
    private readonly inner: SpanExporter,
    /** Where the spans go, for the log lines. */
    private readonly target: string,
    private readonly log: (line: string) => void,
  ) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      if (result.code === ExportResultCode.SUCCESS) this.succeeded();
      else this.failed(result.error, spans.length);
      resultCallback(result);
    });
  }

  /** Logs `error` unless a failure of its kind was logged since exports last succeeded. */
  failed(error: unknown, lostSpans = 0): void {
    this.lostSpans += lostSpans;
    const { kind, description } = classifyExportFailure(error);
    if (this.reported.has(kind)) return;
    this.reported.add(kind);
    this.say(`choreoscope: cannot export spans to ${this.target}: ${description}; spans are dropped until this is fixed (logged once)`);
  }

  private succeeded(): void {
    if (this.reported.size === 0) return;
    this.say(`choreoscope: spans reach ${this.target} again; ${this.lostSpans} span${this.lostSpans === 1 ? ' was' : 's were'} dropped while exports failed`);
    this.reported.clear();
    this.lostSpans = 0;
  }

  private say(line: string): void {
    try {
      this.log(line);
    } catch {
      // A logger that throws must not stop the export pipeline: the batch processor waits for our callback.
    }
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}
