import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { startBroker, type RunningBroker } from '../src/index.ts';
import { collectLog, makeTempDir, removeDir, waitFor } from './helpers.ts';

let broker: RunningBroker;
let kafka: Kafka;

before(async () => {
  broker = await startBroker({ log: () => {} });
  kafka = new Kafka({ brokers: [broker.address], clientId: 'txn-test', logLevel: logLevel.NOTHING });
});
after(() => broker.stop());

async function consumeAll(topic: string, options: { readUncommitted?: boolean; expect: number; groupId?: string }): Promise<{ values: string[]; consumer: Consumer }> {
  const consumer = kafka.consumer({ groupId: options.groupId ?? `g-${topic}-${Math.random()}`, maxWaitTimeInMs: 100, readUncommitted: options.readUncommitted ?? false });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const values: string[] = [];
  await consumer.run({ eachMessage: async ({ message }) => void values.push(String(message.value)) });
  await waitFor(() => values.length >= options.expect, 10_000, () => `${options.expect} messages on ${topic}, got ${JSON.stringify(values)}`);
  return { values, consumer };
}

test('a committed transaction is delivered to read_committed consumers; an aborted one only to read_uncommitted', async () => {
  const producer = kafka.producer({ transactionalId: 'orders-tx', maxInFlightRequests: 1, idempotent: true });
  await producer.connect();
  const committed = await producer.transaction();
  await committed.send({ topic: 'tx-orders', messages: [{ value: 'c1' }, { value: 'c2' }] });
  await committed.commit();
  const aborted = await producer.transaction();
  await aborted.send({ topic: 'tx-orders', messages: [{ value: 'a1' }] });
  await aborted.abort();
  const last = await producer.transaction();
  await last.send({ topic: 'tx-orders', messages: [{ value: 'c3' }] });
  await last.commit();
  await producer.disconnect();

  const readCommitted = await consumeAll('tx-orders', { expect: 3 });
  // Give a wrongly delivered aborted record the chance to arrive: one more empty fetch round.
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.deepEqual(readCommitted.values, ['c1', 'c2', 'c3']);
  await readCommitted.consumer.disconnect();

  const readUncommitted = await consumeAll('tx-orders', { readUncommitted: true, expect: 4 });
  assert.deepEqual(readUncommitted.values, ['c1', 'c2', 'a1', 'c3']);
  await readUncommitted.consumer.disconnect();
});

test('read_committed consumers wait at an open transaction and see it once committed', async () => {
  const producer = kafka.producer({ transactionalId: 'slow-tx', maxInFlightRequests: 1, idempotent: true });
  await producer.connect();
  const plain = kafka.producer();
  await plain.connect();
  await plain.send({ topic: 'tx-open', messages: [{ value: 'before' }] });
  const txn = await producer.transaction();
  await txn.send({ topic: 'tx-open', messages: [{ value: 'inside' }] });
  await plain.send({ topic: 'tx-open', messages: [{ value: 'after' }] }); // behind the open transaction

  const { values, consumer } = await consumeAll('tx-open', { expect: 1 });
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.deepEqual(values, ['before'], 'nothing past the open transaction is visible');
  await txn.commit();
  await waitFor(() => values.length === 3, 5_000, () => `all three after commit, got ${JSON.stringify(values)}`);
  assert.deepEqual(values, ['before', 'inside', 'after']);
  await Promise.all([consumer.disconnect(), producer.disconnect(), plain.disconnect()]);
});

test('offsets sent within a transaction reach the group only when it commits', async () => {
  const producer = kafka.producer({ transactionalId: 'offsets-tx', maxInFlightRequests: 1, idempotent: true });
  await producer.connect();
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'tx-offsets-in' }] });
  const offsetsOf = async () => (await admin.fetchOffsets({ groupId: 'tx-group', topics: ['tx-offsets-in'] }))[0]!.partitions[0]!.offset;

  const abortedTxn = await producer.transaction();
  await abortedTxn.sendOffsets({ consumerGroupId: 'tx-group', topics: [{ topic: 'tx-offsets-in', partitions: [{ partition: 0, offset: '5' }] }] });
  await abortedTxn.abort();
  assert.equal(await offsetsOf(), '-1');

  const committedTxn = await producer.transaction();
  await committedTxn.send({ topic: 'tx-offsets-out', messages: [{ value: 'x' }] });
  await committedTxn.sendOffsets({ consumerGroupId: 'tx-group', topics: [{ topic: 'tx-offsets-in', partitions: [{ partition: 0, offset: '7' }] }] });
  assert.equal(await offsetsOf(), '-1', 'not visible before commit');
  await committedTxn.commit();
  assert.equal(await offsetsOf(), '7');
  await Promise.all([producer.disconnect(), admin.disconnect()]);
});

test('a second producer with the same transactional id fences the first and aborts its open transaction', async () => {
  const first = kafka.producer({ transactionalId: 'fenced-tx', maxInFlightRequests: 1, idempotent: true, retry: { retries: 1, initialRetryTime: 50 } });
  await first.connect();
  const stale = await first.transaction();
  await stale.send({ topic: 'tx-fence', messages: [{ value: 'zombie' }] });

  const second = kafka.producer({ transactionalId: 'fenced-tx', maxInFlightRequests: 1, idempotent: true });
  await second.connect();
  const fresh = await second.transaction();
  await fresh.send({ topic: 'tx-fence', messages: [{ value: 'fresh' }] });
  await fresh.commit();
  await assert.rejects(stale.commit(), /epoch|fenced|mapping/i);

  const { values, consumer } = await consumeAll('tx-fence', { expect: 1 });
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.deepEqual(values, ['fresh']);
  await Promise.all([consumer.disconnect(), first.disconnect().catch(() => {}), second.disconnect()]);
});

test('an idempotent producer (a producer id without a transactional id) produces in order', async () => {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  await producer.send({ topic: 'idem', messages: [{ value: 'one' }, { value: 'two' }] });
  await producer.send({ topic: 'idem', messages: [{ value: 'three' }] });
  await producer.disconnect();
  const { values, consumer } = await consumeAll('idem', { expect: 3 });
  assert.deepEqual(values, ['one', 'two', 'three']);
  await consumer.disconnect();
});

test('a transaction left open when the broker stopped is aborted on restart', async () => {
  const dataDir = makeTempDir();
  const log = collectLog();
  let first: RunningBroker | undefined = await startBroker({ dataDir, log: () => {} });
  try {
    const client = new Kafka({ brokers: [first.address], clientId: 'in-doubt', logLevel: logLevel.NOTHING });
    const producer = client.producer({ transactionalId: 'in-doubt', maxInFlightRequests: 1, idempotent: true });
    await producer.connect();
    const done = await producer.transaction();
    await done.send({ topic: 'doubt', messages: [{ value: 'kept' }] });
    await done.commit();
    const open = await producer.transaction();
    await open.send({ topic: 'doubt', messages: [{ value: 'in-doubt' }] });
    await producer.disconnect();
    await first.stop();
    first = undefined;

    const second = await startBroker({ dataDir, log: log.log });
    try {
      assert.ok(log.find(/aborting transaction of producer \d+ left open in doubt-0/), log.text());
      const reader = new Kafka({ brokers: [second.address], clientId: 'reader', logLevel: logLevel.NOTHING });
      const consumer = reader.consumer({ groupId: 'doubt-reader', maxWaitTimeInMs: 100 });
      await consumer.connect();
      await consumer.subscribe({ topic: 'doubt', fromBeginning: true });
      const values: string[] = [];
      await consumer.run({ eachMessage: async ({ message }) => void values.push(String(message.value)) });
      await waitFor(() => values.length >= 1, 10_000, 'the committed message');
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.deepEqual(values, ['kept']);
      await consumer.disconnect();
    } finally {
      await second.stop();
    }
  } finally {
    await first?.stop();
    removeDir(dataDir);
  }
});
