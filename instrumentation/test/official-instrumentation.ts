// kafkajs as a service running @opentelemetry/instrumentation-kafkajs sees it. The official
// instrumentation patches kafkajs through a require hook for the whole process: load it only in a test
// file of its own (node --test runs each file in its own process), and never import kafkajs there.
import { createRequire } from 'node:module';
import type { TracerProvider } from '@opentelemetry/api';
import { KafkaJsInstrumentation } from '@opentelemetry/instrumentation-kafkajs';

export const OFFICIAL_SCOPE = '@opentelemetry/instrumentation-kafkajs';

export interface OfficiallyInstrumented {
  /** The kafkajs module, patched. */
  kafkajs: typeof import('kafkajs');
  instrumentation: KafkaJsInstrumentation;
}

export function loadKafkajsWithOfficialInstrumentation(tracerProvider: TracerProvider): OfficiallyInstrumented {
  const instrumentation = new KafkaJsInstrumentation({ enabled: false });
  instrumentation.setTracerProvider(tracerProvider);
  instrumentation.enable();
  // Required after enable(), so the hook sees it load (an earlier ESM import would stay unpatched).
  const kafkajs = createRequire(import.meta.url)('kafkajs') as typeof import('kafkajs');
  return { kafkajs, instrumentation };
}
