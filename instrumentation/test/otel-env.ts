// startTracing reads OTEL_* variables and registers OpenTelemetry's global providers: tests that call
// it set the variables they need on a clean slate, and clear the globals before the next test starts.
import { context, propagation, trace } from '@opentelemetry/api';
import type { RunningTracing } from '../src/setup.ts';

/** Variables that would send spans elsewhere or change what is sent. */
const OTEL_ENV = [
  'OTEL_SERVICE_NAME', 'OTEL_RESOURCE_ATTRIBUTES', 'OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  'OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_TRACES_HEADERS', 'OTEL_EXPORTER_OTLP_TIMEOUT', 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT',
  'OTEL_SDK_DISABLED', 'OTEL_TRACES_SAMPLER', 'OTEL_TRACES_SAMPLER_ARG', 'OTEL_PROPAGATORS', 'OTEL_BSP_SCHEDULE_DELAY',
];
const saved = Object.fromEntries(OTEL_ENV.map((name) => [name, process.env[name]]));

export function setOtelEnv(values: Record<string, string>): void {
  for (const name of OTEL_ENV) delete process.env[name];
  Object.assign(process.env, values);
}

export function restoreOtelEnv(): void {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
}

/** Shuts the SDK down, then clears the globals it registered so the next test can start its own. */
export async function stopTracing(tracing: RunningTracing): Promise<void> {
  await tracing.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
}
