// The OpenTelemetry SDK as a service would run it, minus the network: a BasicTracerProvider with the
// default BatchSpanProcessor, AsyncLocalStorage context and W3C trace-context + baggage propagation,
// exporting to an exporter that discards. What an instrumentation costs here is span creation,
// attributes, context propagation and the batch processor, not serialisation or sending.
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator, type ExportResult } from '@opentelemetry/core';
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';

/** Accepts every batch at once and keeps nothing but a count, so the benchmark can show spans per message. */
export class DiscardingSpanExporter implements SpanExporter {
  exported = 0;

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.exported += spans.length;
    resultCallback({ code: 0 }); // ExportResultCode.SUCCESS
  }

  async shutdown(): Promise<void> {}
}

export interface SpanPipeline {
  provider: BasicTracerProvider;
  exporter: DiscardingSpanExporter;
}

/** Installs the pipeline as the global tracer provider, context manager and propagator. */
export function startSpanPipeline(): SpanPipeline {
  const exporter = new DiscardingSpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
  trace.setGlobalTracerProvider(provider);
  return { provider, exporter };
}
