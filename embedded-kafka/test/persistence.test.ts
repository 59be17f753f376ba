import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { IHeaders, Kafka } from 'kafkajs';
import { startBroker, type RunningBroker } from '../src/index.ts';
import { Teardown, collectLog, kafkaClient, makeTempDir, removeDir, waitFor } from './helpers.ts';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

const SEGMENT_FILE = '00000000000000000000.log';

interface Read {
  partition: number;
  offset: number;
  key: string | null;
  value: string;
  headers: Record<string, string>;
}

function headersAsText(headers: IHeaders | undefined): Record<string, string> {
  const text: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    // latin1 maps every byte to one character, so binary header values compare exactly.
    text[name] = (Array.isArray(value) ? value : [value]).map((v) => Buffer.from(v).toString('latin1')).join(',');
  }
  return text;
}

const byPosition = (a: Read, b: Read) => a.partition - b.partition || a.offset - b.offset;

/**
 * Consumes `topic` with a group until every partition is read up to its high watermark (as the broker
 * reports it through ListOffsets), so messages the broker holds beyond those expected cannot go unseen.
 * Returns what was read in (partition, offset) order. The consumer disconnects (committing) before return.
 */
async function consumeToEnd(kafka: Kafka, teardown: Teardown, topic: string, groupId: string): Promise<Read[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
  await admin.disconnect();
  const read: Read[] = [];
  const consumer = kafka.consumer({ groupId, sessionTimeout: 3_000, heartbeatInterval: 300, maxWaitTimeInMs: 200 });
  teardown.defer(() => consumer.disconnect());
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      read.push({
        partition,
        offset: Number(message.offset),
        key: message.key?.toString() ?? null,
        value: message.value?.toString() ?? '',
        headers: headersAsText(message.headers),
      });
    },
  });
  const reachedEnd = () =>
    [...ends].every(([partition, end]) => end === 0 || read.some((r) => r.partition === partition && r.offset === end - 1));
  await waitFor(reachedEnd, 10_000, `group ${groupId} to read ${topic} up to ${JSON.stringify([...ends])}`);
  await consumer.disconnect();
  return read.sort(byPosition);
}

async function brokerOn(dataDir: string, teardown: Teardown): Promise<RunningBroker> {
  const broker = await startBroker({ dataDir, minSessionTimeoutMs: 1_000, log: collectLog().log });
  teardown.defer(() => broker.stop());
  return broker;
}

test('messages with keys and headers, the partition count and committed offsets survive a broker restart', async (t) => {
  const teardown = new Teardown();
  t.after(() => teardown.run());
  const dataDir = makeTempDir('embedded-kafka-persistence-');
  teardown.defer(() => removeDir(dataDir));
  const topic = 'orders';
  const groupId = 'order-service';

  // First life of the broker: create the topic through the protocol, produce, consume a part, commit.
  const first = await brokerOn(dataDir, teardown);
  const kafka1 = kafkaClient(first.address, 'persistence-first');
  const admin1 = kafka1.admin();
  await admin1.connect();
  assert.equal(await admin1.createTopics({ topics: [{ topic, numPartitions: 3 }] }), true);
  await admin1.disconnect();

  const message = (batch: string, i: number) => ({
    partition: i % 3,
    key: i === 4 ? null : `order-${batch}-${i}`,
    value: `${batch}-${i}`,
    headers: { 'trace-id': `trace-${batch}-${i}`, source: 'persistence-test', binary: Buffer.from([0, 255, i]) },
  });
  const consumedBatch = Array.from({ length: 6 }, (_, i) => message('consumed', i));
  const pendingBatch = Array.from({ length: 6 }, (_, i) => message('pending', i));
  const producer1 = kafka1.producer();
  await producer1.connect();
  await producer1.send({ topic, messages: consumedBatch });

  const firstRead = await consumeToEnd(kafka1, teardown, topic, groupId);
  assert.deepEqual(firstRead.map((r) => r.value).sort(), consumedBatch.map((m) => m.value).sort());
  const admin1b = kafka1.admin();
  await admin1b.connect();
  const committedBefore = await admin1b.fetchOffsets({ groupId, topics: [topic] });
  await admin1b.disconnect();
  assert.deepEqual(committedBefore[0]!.partitions.map((p) => [p.partition, p.offset]).sort(), [[0, '2'], [1, '2'], [2, '2']]);

  await producer1.send({ topic, messages: pendingBatch });
  await producer1.disconnect();
  await first.stop();

  // Second life, same data directory, new port.
  const second = await brokerOn(dataDir, teardown);
  const kafka2 = kafkaClient(second.address, 'persistence-second');
  const admin2 = kafka2.admin();
  await admin2.connect();
  teardown.defer(() => admin2.disconnect());

  const metadata = await admin2.fetchTopicMetadata({ topics: [topic] });
  assert.deepEqual(metadata.topics[0]!.partitions.map((p) => p.partitionId).sort(), [0, 1, 2]);
  const watermarks = await admin2.fetchTopicOffsets(topic);
  assert.deepEqual(watermarks.map((p) => [p.partition, p.low, p.high]).sort(), [[0, '0', '4'], [1, '0', '4'], [2, '0', '4']]);
  const committedAfter = await admin2.fetchOffsets({ groupId, topics: [topic] });
  assert.deepEqual(committedAfter[0]!.partitions.map((p) => [p.partition, p.offset]).sort(), [[0, '2'], [1, '2'], [2, '2']]);

  // Everything is still there from the beginning, keys and headers intact, in the order produced.
  const everything = await consumeToEnd(kafka2, teardown, topic, 'fresh-reader');
  const expected = [...consumedBatch, ...pendingBatch].map((m, i): Read => ({
    partition: m.partition,
    offset: Math.floor((i % 6) / 3) + (i < 6 ? 0 : 2),
    key: m.key,
    value: m.value,
    headers: headersAsText(m.headers),
  }));
  assert.deepEqual(everything, expected.sort(byPosition));

  // The group resumes where it committed: only the messages it had not consumed.
  const resumed = await consumeToEnd(kafka2, teardown, topic, groupId);
  assert.deepEqual(resumed.map((r) => r.value).sort(), pendingBatch.map((m) => m.value).sort());
  assert.deepEqual(resumed.map((r) => r.offset), [2, 3, 2, 3, 2, 3]);

  // New messages continue the recovered offsets.
  const producer2 = kafka2.producer();
  await producer2.connect();
  teardown.defer(() => producer2.disconnect());
  const [appended] = await producer2.send({ topic, messages: [{ partition: 1, value: 'after-restart' }] });
  assert.equal(appended!.baseOffset, '4');
});

for (const tail of [
  { kind: 'a few garbage bytes', bytes: (_log: Buffer) => Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02]) },
  // A batch cut off half-way, as when the process dies in the middle of an append.
  {
    kind: 'a half-written batch',
    bytes: (log: Buffer) => {
      const last = lastBatch(log);
      return log.subarray(last.start, last.start + Math.floor(last.size / 2));
    },
  },
  // The length reached the disk but the rest of the batch did not (zeros), so the length alone looks fine.
  {
    kind: 'a full-length batch whose body never reached the disk',
    bytes: (log: Buffer) => {
      const last = lastBatch(log);
      return Buffer.concat([log.subarray(last.start, last.start + 12), Buffer.alloc(last.size - 12)]);
    },
  },
]) {
  test(`a torn tail (${tail.kind}) in a partition log is cut off on restart, earlier messages intact`, async (t) => {
    const teardown = new Teardown();
    t.after(() => teardown.run());
    const dataDir = makeTempDir('embedded-kafka-torn-');
    teardown.defer(() => removeDir(dataDir));
    const topic = 'torn';

    const first = await brokerOn(dataDir, teardown);
    first.createTopic(topic, 3);
    const producer1 = kafkaClient(first.address, 'torn-first').producer();
    await producer1.connect();
    for (let i = 0; i < 4; i++) {
      await producer1.send({ topic, messages: [{ partition: 0, key: `k${i}`, value: `intact-${i}`, headers: { n: String(i) } }] });
    }
    await producer1.send({ topic, messages: [{ partition: 2, value: 'other-partition' }] });
    await producer1.disconnect();
    await first.stop();

    const logFile = join(dataDir, `${topic}-0`, SEGMENT_FILE);
    const intact = readFileSync(logFile);
    appendFileSync(logFile, tail.bytes(intact));
    assert.ok(statSync(logFile).size > intact.length);

    const second = await brokerOn(dataDir, teardown);
    assert.deepEqual(readFileSync(logFile), intact, 'the torn tail was not cut off the log file');
    const kafka2 = kafkaClient(second.address, 'torn-second');
    const admin2 = kafka2.admin();
    await admin2.connect();
    const metadata = await admin2.fetchTopicMetadata({ topics: [topic] });
    await admin2.disconnect();
    assert.equal(metadata.topics[0]!.partitions.length, 3);
    const read = await consumeToEnd(kafka2, teardown, topic, 'torn-reader');
    const intactReads = Array.from({ length: 4 }, (_, i): Read => ({ partition: 0, offset: i, key: `k${i}`, value: `intact-${i}`, headers: { n: String(i) } }));
    const otherRead: Read = { partition: 2, offset: 0, key: null, value: 'other-partition', headers: {} };
    assert.deepEqual(read, [...intactReads, otherRead]);

    // Appends after the cut go right behind the intact data and survive another restart.
    const producer2 = kafka2.producer();
    await producer2.connect();
    const [appended] = await producer2.send({ topic, messages: [{ partition: 0, key: 'k4', value: 'after-cut', headers: { n: '4' } }] });
    await producer2.disconnect();
    assert.equal(appended!.baseOffset, '4');
    await second.stop();

    const third = await brokerOn(dataDir, teardown);
    const reread = await consumeToEnd(kafkaClient(third.address, 'torn-third'), teardown, topic, 'torn-rereader');
    assert.deepEqual(reread, [
      ...intactReads,
      { partition: 0, offset: 4, key: 'k4', value: 'after-cut', headers: { n: '4' } },
      otherRead,
    ]);
  });
}

/** Where the last record batch of a log file starts and its size (a batch is `baseOffset int64, batchLength int32, …`). */
function lastBatch(log: Buffer): { start: number; size: number } {
  let at = 0;
  let last = { start: 0, size: 0 };
  while (at + 12 <= log.length) {
    last = { start: at, size: log.readInt32BE(at + 8) + 12 };
    at += last.size;
  }
  assert.equal(at, log.length, 'the log file does not end on a batch boundary');
  return last;
}
