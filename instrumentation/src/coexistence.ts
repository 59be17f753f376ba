import { diag } from '@opentelemetry/api';

/** What shimmer (used by every OpenTelemetry instrumentation) leaves on a function it wrapped. */
interface Wrapped {
  __wrapped?: boolean;
  __original?: unknown;
}

let warned = false;

/**
 * The function under any OpenTelemetry wrapper. `@opentelemetry/instrumentation-kafkajs` wraps
 * `send`, `sendBatch`, `transaction` and `run` of every client it sees; calling those wrappers as well
 * would give every message two spans. Choreoscope wins: it calls the original, and says so once.
 */
export function unwrapped<F extends (...args: any[]) => any>(fn: F, what: string): F {
  let current = fn as F & Wrapped;
  while (current.__wrapped && typeof current.__original === 'function') current = current.__original as F & Wrapped;
  if (current !== fn && !warned) {
    warned = true;
    diag.warn(
      `choreoscope: kafkajs ${what} is already wrapped by another OpenTelemetry instrumentation ` +
        '(@opentelemetry/instrumentation-kafkajs?). Choreoscope instruments this client instead, so no message gets two spans.',
    );
  }
  return current;
}
