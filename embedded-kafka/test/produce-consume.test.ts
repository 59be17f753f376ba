import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { CompressionTypes, type Consumer, type ConsumerConfig, type ConsumerRunConfig, type IHeaders } from 'kafkajs';
import { Teardown, useBroker, waitFor } from './helpers.ts';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

const env = useBroker('produce-consume-test');
const { unique } = env;

/** A connected producer, disconnected by `teardown`. */
async function producerFor(teardown: Teardown) {
  const producer = env.kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
  teardown.defer(() => producer.disconnect());
  return producer;
}

/**
 * A consumer of `topics` from the beginning, running `run`, disconnected by `teardown`. Short fetch waits
 * keep the tests quick unless `config` says otherwise.
 */
async function consumerFor(teardown: Teardown, topics: string[], run: ConsumerRunConfig, config: Partial<ConsumerConfig> = {}): Promise<Consumer> {
  const consumer = env.kafka.consumer({
    groupId: unique('group'),
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
    maxWaitTimeInMs: 100,
    ...config,
  });
  await consumer.connect();
  teardown.defer(() => consumer.disconnect());
  await consumer.subscribe({ topics, fromBeginning: true });
  await consumer.run(run);
  return consumer;
}

/** Turns kafkajs's consumed header object into plain key -> Buffer | Buffer[] for comparison. */
function plainHeaders(headers: IHeaders | undefined): Record<string, Buffer | Buffer[] | undefined> {
  const out: Record<string, Buffer | Buffer[] | undefined> = {};
  for (const [key, value] of Object.entries(headers ?? {})) {
    out[key] = Array.isArray(value) ? value.map((v) => Buffer.from(v)) : value === undefined ? undefined : Buffer.from(value);
  }
  return out;
}

describe('produce and consume with kafkajs', () => {
  test('keys, values, headers (Buffer, string, multi-valued), tombstones, empty keys and timestamps come back byte-exact', async () => {
    const teardown = new Teardown();
    try {
      const topic = unique('exact');
      env.broker.createTopic(topic, 1);
      const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const base = 1_700_000_000_000;
      const sent = [
        {
          key: Buffer.from([0x00, 0xff, 0x10, 0x80]),
          value: binary,
          timestamp: String(base + 123),
          headers: { bin: Buffer.from([0, 1, 2, 255]), str: 'héllo ✓', multi: ['one', Buffer.from([9, 8, 7])], empty: '' },
        },
        { key: 'tombstone-key', value: null, timestamp: String(base + 5_000), headers: { reason: 'deleted' } },
        { key: '', value: 'empty key', timestamp: String(base + 7) },
        { key: null, value: Buffer.alloc(0), timestamp: String(base - 86_400_000) },
      ];
      const expected = [
        {
          key: Buffer.from([0x00, 0xff, 0x10, 0x80]),
          value: binary,
          timestamp: String(base + 123),
          headers: {
            bin: Buffer.from([0, 1, 2, 255]),
            str: Buffer.from('héllo ✓', 'utf8'),
            multi: [Buffer.from('one'), Buffer.from([9, 8, 7])],
            empty: Buffer.alloc(0),
          },
        },
        { key: Buffer.from('tombstone-key'), value: null, timestamp: String(base + 5_000), headers: { reason: Buffer.from('deleted') } },
        { key: Buffer.alloc(0), value: Buffer.from('empty key'), timestamp: String(base + 7), headers: {} },
        { key: null, value: Buffer.alloc(0), timestamp: String(base - 86_400_000), headers: {} },
      ];

      const producer = await producerFor(teardown);
      await producer.send({ topic, messages: sent });

      const received: { offset: string; key: Buffer | null; value: Buffer | null; timestamp: string; headers: ReturnType<typeof plainHeaders> }[] = [];
      await consumerFor(teardown, [topic], {
        eachMessage: async ({ message }) => {
          received.push({
            offset: message.offset,
            key: message.key,
            value: message.value,
            timestamp: message.timestamp,
            headers: plainHeaders(message.headers),
          });
        },
      });
      await waitFor(() => received.length >= sent.length, 15_000, `${sent.length} messages`);

      assert.deepEqual(received.map((r) => r.offset), ['0', '1', '2', '3']);
      assert.equal(received.length, expected.length);
      received.forEach((got, i) => {
        const want = expected[i]!;
        assert.deepEqual(got.key, want.key, `key of message ${i}`);
        assert.deepEqual(got.value, want.value, `value of message ${i}`);
        assert.equal(got.timestamp, want.timestamp, `timestamp of message ${i}`);
        assert.deepEqual(got.headers, want.headers, `headers of message ${i}`);
      });
      assert.equal(received[1]!.value, null, 'a tombstone stays null, not an empty buffer');
      assert.notEqual(received[3]!.value, null, 'an empty value stays empty, not null');
    } finally {
      await teardown.run();
    }
  });

  test('three partitions, many keys: every key stays on one partition and its messages arrive in the order sent', async () => {
    const teardown = new Teardown();
    try {
      const topic = unique('keyed');
      env.broker.createTopic(topic, 3);
      const keys = Array.from({ length: 40 }, (_, i) => `customer-${i}`);
      const rounds = 25;
      const producer = await producerFor(teardown);
      // Five sends, each interleaving five rounds of every key.
      for (let send = 0; send < 5; send++) {
        const messages = [];
        for (let round = send * 5; round < send * 5 + 5; round++) {
          for (const key of keys) messages.push({ key, value: `${key}#${round}` });
        }
        await producer.send({ topic, messages });
      }
      const total = keys.length * rounds;

      const received: { key: string; round: number; partition: number; offset: number }[] = [];
      await consumerFor(teardown, [topic], {
        eachMessage: async ({ partition, message }) => {
          const [key, round] = message.value!.toString().split('#');
          assert.equal(message.key!.toString(), key);
          received.push({ key: key!, round: Number(round), partition, offset: Number(message.offset) });
        },
      });
      await waitFor(() => received.length >= total, 20_000, `${total} messages`);
      assert.equal(received.length, total);

      for (const key of keys) {
        const mine = received.filter((r) => r.key === key);
        assert.deepEqual(mine.map((r) => r.round), Array.from({ length: rounds }, (_, i) => i), `order of ${key}`);
        assert.equal(new Set(mine.map((r) => r.partition)).size, 1, `${key} spread over several partitions`);
      }
      const partitionsUsed = new Set(received.map((r) => r.partition));
      assert.equal(partitionsUsed.size, 3, 'the keys should spread over all three partitions');
      for (const partition of partitionsUsed) {
        const offsets = received.filter((r) => r.partition === partition).map((r) => r.offset);
        assert.deepEqual(offsets, offsets.map((_, i) => i), `offsets of partition ${partition}`);
      }
    } finally {
      await teardown.run();
    }
  });

  test('eachBatch over 1,000 messages: each arrives exactly once, in offset order per partition, in multi-message batches', async () => {
    const teardown = new Teardown();
    try {
      const topic = unique('batches');
      env.broker.createTopic(topic, 3);
      const total = 1_000;
      const producer = await producerFor(teardown);
      for (let send = 0; send < 4; send++) {
        const messages = Array.from({ length: total / 4 }, (_, i) => {
          const n = send * (total / 4) + i;
          return { key: `k${n % 17}`, value: String(n) };
        });
        await producer.send({ topic, messages });
      }

      const received: { partition: number; offset: number; value: number }[] = [];
      const batchSizes: number[] = [];
      const consumer = await consumerFor(teardown, [topic], {
        eachBatch: async ({ batch }) => {
          batchSizes.push(batch.messages.length);
          for (const message of batch.messages) {
            received.push({ partition: batch.partition, offset: Number(message.offset), value: Number(message.value!.toString()) });
          }
        },
      });
      let fetchesDone = 0;
      consumer.on(consumer.events.FETCH, () => void fetchesDone++);
      await waitFor(() => received.length >= total, 20_000, `${total} messages`);
      // Let two more fetches complete, so a redelivery would have shown up.
      const fetchesAtEnd = fetchesDone;
      await waitFor(() => fetchesDone >= fetchesAtEnd + 2, 10_000, 'two further fetches');

      assert.equal(received.length, total, 'no message delivered twice');
      assert.deepEqual(received.map((r) => r.value).sort((a, b) => a - b), Array.from({ length: total }, (_, i) => i));
      let counted = 0;
      for (const partition of [0, 1, 2]) {
        const offsets = received.filter((r) => r.partition === partition).map((r) => r.offset);
        assert.ok(offsets.length > 0, `partition ${partition} got messages`);
        assert.deepEqual(offsets, offsets.map((_, i) => i), `offsets of partition ${partition} in order, without gaps`);
        counted += offsets.length;
      }
      assert.equal(counted, total);
      assert.ok(Math.max(...batchSizes) > 1, `batches hold several messages (sizes ${batchSizes.join(',')})`);
      assert.ok(batchSizes.filter((n) => n > 0).length < total / 10, `${batchSizes.length} batches for ${total} messages`);
    } finally {
      await teardown.run();
    }
  });

  test('one sendBatch call to several topics delivers every topic its messages', async () => {
    const teardown = new Teardown();
    try {
      const topics = [unique('multi-a'), unique('multi-b'), unique('multi-c')];
      const topicMessages = topics.map((topic, t) => ({
        topic,
        messages: Array.from({ length: 3 + 2 * t }, (_, i) => ({ key: `k${i}`, value: `${topic}/${i}` })),
      }));
      const producer = await producerFor(teardown);
      const results = await producer.sendBatch({ topicMessages });
      assert.deepEqual([...new Set(results.map((r) => r.topicName))].sort(), [...topics].sort());
      for (const r of results) assert.equal(r.errorCode, 0);

      const received = new Map<string, string[]>(topics.map((t) => [t, []]));
      const expectedTotal = topicMessages.reduce((sum, t) => sum + t.messages.length, 0);
      let count = 0;
      await consumerFor(teardown, topics, {
        eachMessage: async ({ topic, message }) => {
          received.get(topic)!.push(message.value!.toString());
          count++;
        },
      });
      await waitFor(() => count >= expectedTotal, 15_000, `${expectedTotal} messages over ${topics.length} topics`);
      assert.equal(count, expectedTotal);
      for (const { topic, messages } of topicMessages) {
        assert.deepEqual(received.get(topic), messages.map((m) => m.value), `messages of ${topic}`);
      }
    } finally {
      await teardown.run();
    }
  });

  test('gzip-compressed batches are stored and consumed intact', async () => {
    const teardown = new Teardown();
    try {
      const topic = unique('gzip');
      env.broker.createTopic(topic, 2);
      const messages = Array.from({ length: 60 }, (_, i) => ({
        key: `order-${i % 7}`,
        value: `${'payload '.repeat(100 + i)}#${i}`,
        headers: { 'trace-id': `trace-${i}`, raw: Buffer.from([i, 255 - i]) },
      }));
      const producer = await producerFor(teardown);
      await producer.send({ topic, compression: CompressionTypes.GZIP, messages: messages.slice(0, 30) });
      await producer.send({ topic, compression: CompressionTypes.GZIP, messages: messages.slice(30) });

      const received = new Map<string, { key: string; headers: ReturnType<typeof plainHeaders> }>();
      let count = 0;
      await consumerFor(teardown, [topic], {
        eachMessage: async ({ message }) => {
          count++;
          received.set(message.value!.toString(), { key: message.key!.toString(), headers: plainHeaders(message.headers) });
        },
      });
      await waitFor(() => count >= messages.length, 15_000, `${messages.length} messages`);
      assert.equal(count, messages.length);
      for (const m of messages) {
        const got = received.get(m.value);
        assert.ok(got, `message ${m.value.slice(-4)} missing or altered`);
        assert.equal(got.key, m.key);
        assert.deepEqual(got.headers, { 'trace-id': Buffer.from(m.headers['trace-id']), raw: m.headers.raw });
      }
      assert.equal(env.brokerLog.find(/refused/), undefined, env.brokerLog.text());
    } finally {
      await teardown.run();
    }
  });

  test('admin: create, describe, re-create, list and delete a topic; offsets at both ends and by timestamp', async () => {
    const teardown = new Teardown();
    try {
      const admin = env.kafka.admin();
      await admin.connect();
      teardown.defer(() => admin.disconnect());
      const topic = unique('admin');

      assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] }), true);
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
      assert.equal(metadata.topics.length, 1);
      assert.equal(metadata.topics[0]!.name, topic);
      assert.deepEqual(metadata.topics[0]!.partitions.map((p) => p.partitionId).sort(), [0, 1, 2]);
      assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] }), false, 'a second create reports it exists');
      assert.match(env.brokerLog.text(), new RegExp(`created topic ${topic} with 3 partition`));

      const base = Date.now() - 60_000;
      const producer = await producerFor(teardown);
      // Partition 0: five messages a second apart; partition 1: three, later; partition 2: none.
      await producer.send({
        topic,
        messages: [
          ...Array.from({ length: 5 }, (_, i) => ({ partition: 0, value: `p0-${i}`, timestamp: String(base + i * 1_000) })),
          ...Array.from({ length: 3 }, (_, i) => ({ partition: 1, value: `p1-${i}`, timestamp: String(base + 10_000 + i * 1_000) })),
        ],
      });

      const offsets = (await admin.fetchTopicOffsets(topic)).sort((a, b) => a.partition - b.partition);
      assert.deepEqual(offsets.map(({ partition, low, high, offset }) => ({ partition, low, high, offset })), [
        { partition: 0, low: '0', high: '5', offset: '5' },
        { partition: 1, low: '0', high: '3', offset: '3' },
        { partition: 2, low: '0', high: '0', offset: '0' },
      ]);

      const byTime = async (timestamp: number) =>
        (await admin.fetchTopicOffsetsByTimestamp(topic, timestamp)).sort((a, b) => a.partition - b.partition).map((p) => p.offset);
      // First offset at or after the time; kafkajs substitutes the latest offset where there is none.
      assert.deepEqual(await byTime(base + 2_500), ['3', '0', '0']);
      assert.deepEqual(await byTime(base + 4_000), ['4', '0', '0']);
      assert.deepEqual(await byTime(base + 11_000), ['5', '1', '0']);
      assert.deepEqual(await byTime(base - 1), ['0', '0', '0']);
      assert.deepEqual(await byTime(base + 1_000_000), ['5', '3', '0']);

      assert.ok((await admin.listTopics()).includes(topic));
      await admin.deleteTopics({ topics: [topic] });
      assert.ok(!(await admin.listTopics()).includes(topic), 'deleted topic is still listed');
      assert.match(env.brokerLog.text(), new RegExp(`deleted topic ${topic}`));
    } finally {
      await teardown.run();
    }
  });

  test('a long-polling fetch (maxWaitTimeInMs 2000) on an empty topic wakes on an append instead of waiting out its time', async () => {
    const teardown = new Teardown();
    try {
      const topic = unique('long-poll');
      env.broker.createTopic(topic, 1);
      const producer = await producerFor(teardown);

      const fetches: { sentAt: number; duration: number }[] = [];
      const fetchStarts: number[] = [];
      let receivedAt = 0;
      let receivedValue: string | null = null;
      const consumer = env.kafka.consumer({ groupId: unique('group'), sessionTimeout: 10_000, heartbeatInterval: 1_000, maxWaitTimeInMs: 2_000 });
      consumer.on(consumer.events.REQUEST, ({ payload }) => {
        if (payload.apiName === 'Fetch') fetches.push({ sentAt: payload.sentAt, duration: payload.duration });
      });
      consumer.on(consumer.events.FETCH_START, ({ timestamp }) => void fetchStarts.push(timestamp));
      await consumer.connect();
      teardown.defer(() => consumer.disconnect());
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          receivedAt = Date.now();
          receivedValue = message.value!.toString();
        },
      });

      // Steady state: the first fetch on the empty topic has come back empty and the next one is under way.
      await waitFor(() => fetches.length >= 1, 10_000, 'the first (empty) fetch to finish');
      // One-sided check (a slow machine only makes it longer): the broker held the empty fetch rather than answering at once.
      assert.ok(fetches[0]!.duration >= 1_000, `the first fetch on an empty topic came back after ${fetches[0]!.duration} ms`);
      const firstDoneAt = fetches[0]!.sentAt + fetches[0]!.duration;
      await waitFor(() => fetchStarts.some((at) => at >= firstDoneAt), 10_000, 'the next fetch to start');
      assert.equal(receivedValue, null);

      const producedAt = Date.now();
      await producer.send({ topic, messages: [{ value: 'wake up' }] });
      await waitFor(() => receivedValue !== null, 10_000, 'the message');
      assert.equal(receivedValue, 'wake up');
      const latencyMs = receivedAt - producedAt;
      assert.ok(latencyMs < 1_000, `message took ${latencyMs} ms; a 2 s long poll should have been woken by the append`);
      // A broker answering empty fetches at once would make kafkajs spin through hundreds of them.
      assert.ok(fetches.length <= 10, `${fetches.length} fetch requests in a few seconds on an idle topic`);
    } finally {
      await teardown.run();
    }
  });
});
