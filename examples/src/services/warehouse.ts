/**
 * The warehouse system: an old service nobody instrumented. It forwards reservations (the `legacy-hop`
 * fault routes them through it) to shipping, keeping the order id as key and the body, dropping every
 * header. No spans: Choreoscope sees shipping handle a message nobody is known to have sent, and joins it
 * to its order by the business key in the body.
 */
import { Kafka, logLevel } from 'kafkajs';
import { readServiceEnv } from '../env.ts';
import { TOPICS } from '../events.ts';
import { firstGroupJoin } from '../group-join.ts';
import { ensureTopics, PARTITIONS } from '../topics.ts';

const env = readServiceEnv('warehouse');
const log = (line: string) => console.log(`${new Date().toISOString()} ${env.instance} ${line}`);
const kafka = new Kafka({ clientId: env.instance, brokers: env.brokers, logLevel: logLevel.WARN });
await ensureTopics(kafka);
const producer = kafka.producer();
await producer.connect();
const consumer = kafka.consumer({ groupId: 'warehouse', sessionTimeout: 10_000, heartbeatInterval: 1_000 });
const joined = firstGroupJoin(consumer);
await consumer.connect();
await consumer.subscribe({ topic: TOPICS.warehouse, fromBeginning: true });
await consumer.run({
  partitionsConsumedConcurrently: PARTITIONS,
  eachMessage: async ({ message }) => {
    await new Promise((resolve) => setTimeout(resolve, 30)); // picking
    await producer.send({ topic: TOPICS.stockReserved, messages: [{ key: message.key, value: message.value }] });
  },
});
await joined;
log(`running (brokers ${env.brokers.join(',')}); no instrumentation`);

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  log(`${signal}: stopping`);
  await consumer.disconnect().catch(() => {});
  await producer.disconnect().catch(() => {});
  process.exit(0);
};
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
