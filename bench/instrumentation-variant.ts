// One variant of the instrumentation benchmark, in a process of its own (see instrumentation.bench.ts):
// a producer and a consumer of one kafkajs client, plain or instrumented, move N messages through the
// broker while this process measures throughput, end-to-end latency and its own CPU time. The
// configuration arrives as JSON in argv[2]; the result goes back over IPC.
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { build as buildHistogram } from 'hdr-histogram-js';
import type { EachBatchPayload, EachMessagePayload, KafkaMessage, Message } from 'kafkajs';
import { startSpanPipeline, type SpanPipeline } from './span-pipeline.ts';

/** Who puts spans around kafkajs: nobody, Choreoscope, or `@opentelemetry/instrumentation-kafkajs`. */
export type Instrumentation = 'plain' | 'choreoscope' | 'official';
/** The consumer API the handler uses. */
export type Handler = 'eachMessage' | 'eachBatch';

export interface VariantConfig {
  instrumentation: Instrumentation;
  handler: Handler;
  brokerAddress: string;
  messages: number;
  warmupMessages: number;
  sizeBytes: number;
  messagesPerSend: number;
  sendsInFlight: number;
}

export interface VariantResult {
  messages: number;
  /** First send of the measured messages to the last of them consumed. */
  wallSeconds: number;
  /** This process's user + system CPU from the first send until every span was flushed. */
  cpuSeconds: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  spansPerMessage: number;
}

/** Carries the send time on every message, in every variant alike. */
const SENT_AT_HEADER = 'bench-sent-at';
const now = () => performance.timeOrigin + performance.now();

const config = JSON.parse(process.argv[2]!) as VariantConfig;
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

const pipeline: SpanPipeline | undefined = config.instrumentation === 'plain' ? undefined : startSpanPipeline();
if (config.instrumentation === 'official') {
  const { KafkaJsInstrumentation } = await import('@opentelemetry/instrumentation-kafkajs');
  new KafkaJsInstrumentation({ enabled: false }).enable();
}
// Through require, after the official instrumentation's require hook is in place (when there is one).
const { Kafka, logLevel } = createRequire(import.meta.url)('kafkajs') as typeof import('kafkajs');
let kafka = new Kafka({ brokers: [config.brokerAddress], clientId: 'bench', logLevel: logLevel.ERROR });
const choreoscope = config.instrumentation === 'choreoscope' ? await import('@choreoscope/instrumentation') : undefined;
// The business key is what services configure Choreoscope for; here the message key stands in for the order id.
if (choreoscope) kafka = choreoscope.instrumentKafka(kafka, { businessKey: (message) => message.key?.toString() });

const topic = `bench-${config.instrumentation}-${config.handler}-${Date.now()}`;
const value = Buffer.alloc(config.sizeBytes, 'x');
const latencyMicros = buildHistogram({ numberOfSignificantValueDigits: 3 });

// --- consumer: counts messages and records each one's latency --------------------------------------
let consumed = 0;
let target = 0;
let lastConsumedAt = 0;
let reachedTarget = () => {};
const consume = (message: KafkaMessage) => {
  latencyMicros.recordValue(Math.round((now() - Number(message.headers?.[SENT_AT_HEADER]?.toString())) * 1000));
  if (++consumed === target) {
    lastConsumedAt = performance.now();
    reachedTarget();
  }
};
const consumedUpTo = (count: number) =>
  new Promise<void>((resolve) => {
    target = count;
    reachedTarget = resolve;
    if (consumed >= count) resolve();
  });

const consumer = kafka.consumer({ groupId: topic });
const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
if (config.handler === 'eachMessage') {
  await consumer.run({ eachMessage: async ({ message }: EachMessagePayload) => consume(message) });
} else if (choreoscope) {
  // As Choreoscope's users are told: per-message work inside an instrumented batch goes through processMessage.
  const { processMessage } = choreoscope;
  await consumer.run({
    eachBatch: async ({ batch }: EachBatchPayload) => {
      for (const message of batch.messages) await processMessage(message, () => consume(message));
    },
  });
} else {
  await consumer.run({
    eachBatch: async ({ batch }: EachBatchPayload) => {
      for (const message of batch.messages) consume(message);
    },
  });
}
await joined;

// --- producer: sends of a few messages each, a few sends in flight ----------------------------------
const producer = kafka.producer();
await producer.connect();
let sequence = 0;
const messages = (count: number): Message[] =>
  Array.from({ length: count }, () => ({ key: `order-${sequence++ % 1000}`, value, headers: { [SENT_AT_HEADER]: String(now()) } }));

async function produce(count: number): Promise<void> {
  let remaining = count;
  const worker = async () => {
    while (remaining > 0) {
      const n = Math.min(config.messagesPerSend, remaining);
      remaining -= n;
      await producer.send({ topic, messages: messages(n) });
    }
  };
  await Promise.all(Array.from({ length: config.sendsInFlight }, worker));
}

const cpuSeconds = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

// Warm-up: the same traffic, so that the JIT has compiled every path before the clock starts.
await Promise.all([produce(config.warmupMessages), consumedUpTo(config.warmupMessages)]);
await pipeline?.provider.forceFlush();
const spansBefore = pipeline?.exporter.exported ?? 0;
latencyMicros.reset();

const cpuBefore = cpuSeconds();
const startedAt = performance.now();
await Promise.all([produce(config.messages), consumedUpTo(config.warmupMessages + config.messages)]);
await pipeline?.provider.forceFlush();
const cpuAfter = cpuSeconds();

const result: VariantResult = {
  messages: config.messages,
  wallSeconds: (lastConsumedAt - startedAt) / 1000,
  cpuSeconds: cpuAfter - cpuBefore,
  latencyP50Ms: latencyMicros.getValueAtPercentile(50) / 1000,
  latencyP99Ms: latencyMicros.getValueAtPercentile(99) / 1000,
  spansPerMessage: ((pipeline?.exporter.exported ?? 0) - spansBefore) / config.messages,
};
// No disconnect: leaving the group would wait out the consumer's long poll, and each run has its own topic and group.
process.send!(result, () => process.exit(0));
