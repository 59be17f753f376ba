import { NodeSDK } from '@opentelemetry/sdk-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';

export interface TracingOptions {
  /** `service.name`. The `OTEL_SERVICE_NAME` environment variable, when set, wins. */
  serviceName?: string;
  /**
   * The collector's base URL; spans go to `<url>/v1/traces` over OTLP/HTTP (protobuf). The standard
   * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `OTEL_EXPORTER_OTLP_ENDPOINT`, when set, win.
   * Default `http://localhost:4318`, where the Choreoscope collector listens.
   */
  collectorUrl?: string;
  /** Extra request headers, e.g. `{ authorization: 'Bearer …' }` for a collector with an ingest token. */
  headers?: Record<string, string>;
  /** More resource attributes (`deployment.environment.name`, `service.version`, …). */
  resourceAttributes?: Record<string, string>;
}

export interface RunningTracing {
  sdk: NodeSDK;
  /** Flushes every span still queued, then stops the SDK. Call it before the process exits. */
  shutdown(): Promise<void>;
}

/**
 * Starts OpenTelemetry for a service: the Node SDK with an OTLP/HTTP exporter to the collector and
 * W3C trace-context and baggage propagation. All the standard `OTEL_*` variables apply
 * (`OTEL_TRACES_SAMPLER`, `OTEL_BSP_*`, `OTEL_RESOURCE_ATTRIBUTES`, …).
 */
export function startTracing(options: TracingOptions = {}): RunningTracing {
  const env = process.env;
  const endpointFromEnv = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const base = (options.collectorUrl ?? 'http://localhost:4318').replace(/\/+$/, '');
  const exporter = new OTLPTraceExporter({
    ...(endpointFromEnv ? {} : { url: `${base}/v1/traces` }),
    ...(options.headers ? { headers: options.headers } : {}),
  });
  const sdk = new NodeSDK({
    ...(env.OTEL_SERVICE_NAME ? {} : options.serviceName ? { serviceName: options.serviceName } : {}),
    resource: resourceFromAttributes(options.resourceAttributes ?? {}),
    spanProcessors: [new BatchSpanProcessor(exporter)],
    // The collector takes traces only: no metric or log exporters unless the environment asks for them.
    ...(env.OTEL_METRICS_EXPORTER ? {} : { metricReaders: [] }),
    ...(env.OTEL_LOGS_EXPORTER ? {} : { logRecordProcessors: [] }),
    instrumentations: [],
  });
  sdk.start();
  let stopped: Promise<void> | null = null;
  return { sdk, shutdown: () => (stopped ??= sdk.shutdown()) };
}
