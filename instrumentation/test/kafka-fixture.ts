// What every test that talks to the embedded broker needs: a quiet kafkajs configuration, waiting for a
// condition instead of sleeping, and cleanup that runs even when an assertion failed halfway.
// Imports no kafkajs value, so files that must load kafkajs through `require` (under the official
// instrumentation's hook) can use it too.
import type { KafkaConfig } from 'kafkajs';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

/** A client for `address` that logs nothing and gives up quickly instead of hanging. */
export function kafkaConfig(address: string, clientId: string, overrides: Partial<KafkaConfig> = {}): KafkaConfig {
  return {
    brokers: [address],
    clientId,
    logLevel: 0, // logLevel.NOTHING
    connectionTimeout: 2_000,
    requestTimeout: 10_000,
    retry: { retries: 3, initialRetryTime: 50, maxRetryTime: 500 },
    ...overrides,
  };
}

/** Consumers poll this often when the topic is idle, so a test never waits for kafkajs's 5 s default. */
export const MAX_WAIT_TIME_MS = 100;

/**
 * Resolves once `condition` holds (checked every `intervalMs`); rejects after `timeoutMs` with `what`
 * (a function is called only then, so it can describe the state at the timeout).
 */
export async function waitFor(
  condition: () => boolean,
  what: string | (() => string),
  timeoutMs = 15_000,
  intervalMs = 10,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Cleanup steps registered as resources are made, run last-in first-out. Every step runs even when an
 * earlier one fails; the first failure is rethrown. Running it twice is harmless.
 */
export class Teardown {
  private steps: (() => unknown)[] = [];

  defer(step: () => unknown): void {
    this.steps.push(step);
  }

  /** `client.connect()`, with its `disconnect()` deferred. */
  async connect<C extends { connect(): Promise<void>; disconnect(): Promise<void> }>(client: C): Promise<C> {
    await client.connect();
    this.defer(() => client.disconnect());
    return client;
  }

  async run(): Promise<void> {
    let failure: unknown = null;
    while (this.steps.length > 0) {
      try {
        await this.steps.pop()!();
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== null) throw failure;
  }
}
