// A real OpenTelemetry SDK for tests: spans are kept in memory, context flows through
// AsyncLocalStorage and W3C trace context + baggage are the global propagators, as NodeSDK sets up.
import { after, before } from 'node:test';
import { context, propagation, trace } from '@opentelemetry/api';
import { startBroker, type BrokerOptions, type RunningBroker } from '@choreoscope/embedded-kafka';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';

export interface TestTracing {
  provider: BasicTracerProvider;
  exporter: InMemorySpanExporter;
  spans(): ReadableSpan[];
  reset(): void;
  shutdown(): Promise<void>;
}

export function startTestTracing(): TestTracing {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
  trace.setGlobalTracerProvider(provider);
  return {
    provider,
    exporter,
    spans: () => exporter.getFinishedSpans(),
    reset: () => exporter.reset(),
    async shutdown() {
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}

/** One embedded broker and the test SDK for a file's tests, started before them and stopped after. */
export function useBrokerAndTracing(brokerOptions: BrokerOptions = {}): { readonly broker: RunningBroker; readonly tracing: TestTracing } {
  const env = {} as { broker: RunningBroker; tracing: TestTracing };
  before(async () => {
    env.tracing = startTestTracing();
    env.broker = await startBroker({ log: () => {}, ...brokerOptions });
  });
  after(async () => {
    await env.broker.stop();
    await env.tracing.shutdown();
  });
  return env;
}
