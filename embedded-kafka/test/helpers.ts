/**
 * Shared helpers for tests that drive the embedded broker with real kafkajs clients over TCP.
 * Keep exports backward compatible: several test files import from here.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { Kafka, logLevel, type KafkaConfig } from 'kafkajs';
import { startBroker, type RunningBroker } from '../src/index.ts';

export { Teardown, waitFor } from '@choreoscope/test-support';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

/** A kafkajs client for `address` that logs nothing and gives up quickly instead of hanging. */
export function kafkaClient(address: string, clientId: string, overrides: Partial<KafkaConfig> = {}): Kafka {
  return new Kafka({
    brokers: [address],
    clientId,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2_000,
    requestTimeout: 10_000,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1_000 },
    ...overrides,
  });
}

/** Broker log lines with the time each was written, for `startBroker({ log })`. */
export interface LogCollector {
  readonly lines: { at: number; line: string }[];
  readonly log: (line: string) => void;
  /** Every line so far, newline-separated (for assertion messages). */
  text(): string;
  /** The first line matching `pattern`, or undefined. */
  find(pattern: RegExp): { at: number; line: string } | undefined;
}

export function collectLog(): LogCollector {
  const lines: { at: number; line: string }[] = [];
  return {
    lines,
    log: (line) => void lines.push({ at: Date.now(), line }),
    text: () => lines.map((l) => l.line).join('\n'),
    find: (pattern) => lines.find((l) => pattern.test(l.line)),
  };
}

/** A fresh directory under the OS temp dir. */
export function makeTempDir(prefix = 'embedded-kafka-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * One broker for a test file, started before its tests and stopped after them, with its log collected,
 * a kafkajs client for it, and names no other test in the file uses.
 */
export function useBroker(clientId: string): { readonly broker: RunningBroker; readonly brokerLog: LogCollector; readonly kafka: Kafka; unique(prefix: string): string } {
  let serial = 0;
  const env = {
    unique: (prefix: string) => `${prefix}-${process.pid}-${++serial}`,
  } as { broker: RunningBroker; brokerLog: LogCollector; kafka: Kafka; unique(prefix: string): string };
  before(async () => {
    env.brokerLog = collectLog();
    env.broker = await startBroker({ log: env.brokerLog.log });
    env.kafka = kafkaClient(env.broker.address, clientId);
  });
  after(() => env.broker.stop());
  return env;
}
