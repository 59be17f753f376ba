// What every test that talks to the embedded broker needs: a quiet kafkajs configuration, waiting for a
// condition instead of sleeping, and cleanup that runs even when an assertion failed halfway.
// Imports no kafkajs value, so files that must load kafkajs through `require` (under the official
// instrumentation's hook) can use it too.
import type { KafkaConfig } from 'kafkajs';

export { Teardown, waitFor } from '@choreoscope/test-support';

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
