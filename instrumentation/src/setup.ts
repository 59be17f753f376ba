import { NodeSDK } from '@opentelemetry/sdk-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ReportingSpanExporter } from './reporting-exporter.ts';

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
  /**
   * Where failed exports are reported while the service runs: one line per kind of failure (refused
   * token, unreachable collector, an HTTP error), and one when exports succeed again. Default `console.error`.
   */
  log?: (line: string) => void;
}

export interface RunningTracing {
  sdk: NodeSDK;
  /**
   * Flushes every span still queued, then stops the SDK. Call it before the process exits. Never
   * rejects: when the collector is down it gives up after the exporter's timeout
   * (`OTEL_EXPORTER_OTLP_TIMEOUT`, 10 s by default), having logged why the spans were not sent.
   */
  shutdown(): Promise<void>;
}

/**
 * Starts OpenTelemetry for a service: the Node SDK with an OTLP/HTTP exporter to the collector and
 * W3C trace-context and baggage propagation. All the standard `OTEL_*` variables apply
 * (`OTEL_TRACES_SAMPLER`, `OTEL_BSP_*`, `OTEL_RESOURCE_ATTRIBUTES`, …).
 */
export function startTracing(options: TracingOptions = {}): RunningTracing {
  const env = process.env;
  // The exporter reads the standard variables itself; `tracesUrl` says the same place in log lines.
  const urlFromEnv = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
    || (env.OTEL_EXPORTER_OTLP_ENDPOINT && `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`);
  const tracesUrl = urlFromEnv || `${(options.collectorUrl ?? 'http://localhost:4318').replace(/\/+$/, '')}/v1/traces`;
  const otlp = new OTLPTraceExporter({
    ...(urlFromEnv ? {} : { url: tracesUrl }),
    ...(options.headers ? { headers: options.headers } : {}),
  });
  const exporter = new ReportingSpanExporter(otlp, tracesUrl, options.log ?? ((line) => console.error(line)));
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
  // The batch processor rejects when the last export fails: at exit that is a line in the log, not a crash.
  return { sdk, shutdown: () => (stopped ??= sdk.shutdown().catch((error: unknown) => exporter.failed(error))) };
}
