import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { API_TABLE } from '../src/handlers/api-table.ts';
import { crc32c } from '../src/records/crc32c.ts';
import { Teardown, useBroker, waitFor } from './helpers.ts';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

// ---------------------------------------------------------------------------------------------------
// A tiny, independent Kafka wire encoder/decoder (deliberately not the broker's own codec).

const int8 = (v: number) => Buffer.from([v & 0xff]);
const int16 = (v: number) => { const b = Buffer.alloc(2); b.writeInt16BE(v); return b; };
const int32 = (v: number) => { const b = Buffer.alloc(4); b.writeInt32BE(v); return b; };
const uint32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(v >>> 0); return b; };
const int64 = (v: number) => { const b = Buffer.alloc(8); b.writeBigInt64BE(BigInt(v)); return b; };
const str = (s: string | null) => (s === null ? int16(-1) : Buffer.concat([int16(Buffer.byteLength(s)), Buffer.from(s)]));
const bytes = (b: Buffer) => Buffer.concat([int32(b.length), b]);
const array = (items: Buffer[]) => Buffer.concat([int32(items.length), ...items]);

/** Unsigned LEB128 of a zig-zag encoded integer (record varints and varlongs, for |v| < 2^31). */
function varint(v: number): Buffer {
  let zz = v >= 0 ? v * 2 : -v * 2 - 1;
  const out: number[] = [];
  while (zz >= 0x80) {
    out.push((zz % 0x80) | 0x80);
    zz = Math.floor(zz / 0x80);
  }
  out.push(zz);
  return Buffer.from(out);
}
const varBytes = (b: Buffer | null) => (b === null ? varint(-1) : Buffer.concat([varint(b.length), b]));

/** A request frame: size, then header v1 (api key, version, correlation id, client id), then the body. */
function frame(apiKey: number, apiVersion: number, correlationId: number, body: Buffer = Buffer.alloc(0), clientId: string | null = 'bad-input-test'): Buffer {
  const payload = Buffer.concat([int16(apiKey), int16(apiVersion), int32(correlationId), str(clientId), body]);
  return Buffer.concat([int32(payload.length), payload]);
}

/** Sequential reader over a response body; every read is bounds-checked by Buffer itself. */
class Cursor {
  at = 0;
  constructor(readonly buf: Buffer) {}
  int8() { const v = this.buf.readInt8(this.at); this.at += 1; return v; }
  int16() { const v = this.buf.readInt16BE(this.at); this.at += 2; return v; }
  int32() { const v = this.buf.readInt32BE(this.at); this.at += 4; return v; }
  int64() { const v = Number(this.buf.readBigInt64BE(this.at)); this.at += 8; return v; }
  string() { const n = this.int16(); if (n < 0) return null; const s = this.buf.toString('utf8', this.at, this.at + n); this.at += n; return s; }
  array<T>(item: () => T): T[] { const n = this.int32(); return Array.from({ length: Math.max(n, 0) }, item); }
  get remaining() { return this.buf.length - this.at; }
}

interface ApiRange { apiKey: number; minVersion: number; maxVersion: number }

function parseApiVersions(body: Buffer, version: number): { errorCode: number; apiKeys: ApiRange[]; throttleTimeMs?: number } {
  const c = new Cursor(body);
  const errorCode = c.int16();
  const apiKeys = c.array(() => ({ apiKey: c.int16(), minVersion: c.int16(), maxVersion: c.int16() }));
  const throttleTimeMs = version >= 1 ? c.int32() : undefined;
  assert.equal(c.remaining, 0, `ApiVersions v${version} response has ${c.remaining} unexpected trailing bytes`);
  return { errorCode, apiKeys, ...(throttleTimeMs === undefined ? {} : { throttleTimeMs }) };
}

/** A RecordBatch v2 (magic 2), uncompressed, with a correct CRC-32C. */
function recordBatch(records: { key: Buffer | null; value: Buffer | null; headers?: [string, Buffer][] }[], baseTimestamp: number): Buffer {
  const encodedRecords = records.map((r, i) => {
    const headers = r.headers ?? [];
    const body = Buffer.concat([
      int8(0), // attributes
      varint(i), // timestamp delta
      varint(i), // offset delta
      varBytes(r.key),
      varBytes(r.value),
      varint(headers.length),
      ...headers.map(([k, v]) => Buffer.concat([varBytes(Buffer.from(k)), varBytes(v)])),
    ]);
    return Buffer.concat([varint(body.length), body]);
  });
  // Everything after the CRC field: this is what the CRC covers.
  const afterCrc = Buffer.concat([
    int16(0), // attributes: no compression, create time, not transactional
    int32(records.length - 1), // last offset delta
    int64(baseTimestamp),
    int64(baseTimestamp + records.length - 1), // max timestamp
    int64(-1), // producer id
    int16(-1), // producer epoch
    int32(-1), // base sequence
    int32(records.length),
    ...encodedRecords,
  ]);
  const afterLength = Buffer.concat([int32(-1) /* partition leader epoch */, int8(2) /* magic */, uint32(crc32c(afterCrc)), afterCrc]);
  return Buffer.concat([int64(0), int32(afterLength.length), afterLength]);
}

/** Offsets inside a batch, from the format's definition. */
const BATCH_CRC_AT = 17;
const BATCH_RECORDS_AT = 61;

function produceV3(correlationId: number, topic: string, partitions: { partition: number; records: Buffer }[]): Buffer {
  const body = Buffer.concat([
    str(null), // transactional id
    int16(-1), // acks: all
    int32(5_000), // timeout
    array([Buffer.concat([str(topic), array(partitions.map((p) => Buffer.concat([int32(p.partition), bytes(p.records)])))])]),
  ]);
  return frame(0, 3, correlationId, body);
}

function parseProduceV3(body: Buffer) {
  const c = new Cursor(body);
  const topics = c.array(() => ({
    name: c.string(),
    partitions: c.array(() => ({ partition: c.int32(), errorCode: c.int16(), baseOffset: c.int64(), logAppendTimeMs: c.int64() })),
  }));
  c.int32(); // throttle time
  assert.equal(c.remaining, 0);
  return topics;
}

// ---------------------------------------------------------------------------------------------------
// A raw TCP client that reads size-prefixed response frames in order.

class RawClient {
  private buffered = Buffer.alloc(0);
  private frames: Buffer[] = [];
  private waiter: (() => void) | null = null;
  closed = false;
  readonly closedPromise: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 4 && this.buffered.length >= 4 + this.buffered.readInt32BE(0)) {
        const size = this.buffered.readInt32BE(0);
        this.frames.push(this.buffered.subarray(4, 4 + size));
        this.buffered = this.buffered.subarray(4 + size);
      }
      this.waiter?.();
    });
    socket.on('error', () => {}); // a reset after the broker closes is expected in some tests
    this.closedPromise = new Promise((resolve) => socket.once('close', () => {
      this.closed = true;
      this.waiter?.();
      resolve();
    }));
  }

  static async open(port: number, teardown: Teardown): Promise<RawClient> {
    const socket = connect(port, '127.0.0.1');
    teardown.defer(() => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  /** The port the broker sees this connection coming from (it names connections by it in its log). */
  get localPort(): number {
    return this.socket.localPort!;
  }

  write(data: Buffer): void {
    this.socket.write(data);
  }

  /** The next response frame: its correlation id and body. Fails if the connection closes first. */
  async response(timeoutMs = 5_000): Promise<{ correlationId: number; body: Buffer }> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length === 0) {
      if (this.closed) throw new Error('connection closed while waiting for a response');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no response within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = null;
    }
    const f = this.frames.shift()!;
    return { correlationId: f.readInt32BE(0), body: f.subarray(4) };
  }

  async request(data: Buffer): Promise<{ correlationId: number; body: Buffer }> {
    this.write(data);
    return this.response();
  }

  /** Resolves when the broker has closed the connection; fails after `timeoutMs`. */
  async waitClosed(timeoutMs = 5_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.closedPromise,
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms`)), timeoutMs))),
    ]).finally(() => clearTimeout(timer));
  }
}

// ---------------------------------------------------------------------------------------------------

const UNSUPPORTED_VERSION = 35;
const CORRUPT_MESSAGE = 2;
const REQUIRED_KEYS = [0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 18, 19, 20];

const env = useBroker('bad-input-test');
const { unique } = env;

describe('raw requests and bad input', () => {
  test('ApiVersions v0, v1 and v2 advertise every API the broker serves', async () => {
    const teardown = new Teardown();
    try {
      const client = await RawClient.open(env.broker.port, teardown);
      for (const version of [0, 1, 2]) {
        const correlationId = 100 + version;
        const response = await client.request(frame(18, version, correlationId));
        assert.equal(response.correlationId, correlationId);
        const parsed = parseApiVersions(response.body, version);
        assert.equal(parsed.errorCode, 0);
        if (version >= 1) assert.equal(parsed.throttleTimeMs, 0);
        const keys = parsed.apiKeys.map((k) => k.apiKey);
        for (const key of REQUIRED_KEYS) assert.ok(keys.includes(key), `v${version} does not advertise api key ${key}: ${keys.join(',')}`);
        for (const range of parsed.apiKeys) {
          assert.ok(range.minVersion >= 0 && range.minVersion <= range.maxVersion, `bad range for key ${range.apiKey}`);
          const api = API_TABLE.get(range.apiKey);
          assert.ok(api, `advertises api key ${range.apiKey} it does not serve`);
          assert.deepEqual([range.minVersion, range.maxVersion], [api.minVersion, api.maxVersion], `range of ${api.name}`);
        }
        const apiVersions = parsed.apiKeys.find((k) => k.apiKey === 18)!;
        assert.ok(apiVersions.maxVersion >= 2);
      }
    } finally {
      await teardown.run();
    }
  });

  test('ApiVersions at an unsupported version gets UNSUPPORTED_VERSION with the supported ranges (v0 layout), and the connection stays usable', async () => {
    const teardown = new Teardown();
    try {
      const client = await RawClient.open(env.broker.port, teardown);
      const response = await client.request(frame(18, 99, 4242));
      assert.equal(response.correlationId, 4242);
      const parsed = parseApiVersions(response.body, 0); // asserts the exact v0 length: no throttle field
      assert.equal(parsed.errorCode, UNSUPPORTED_VERSION);
      const keys = parsed.apiKeys.map((k) => k.apiKey);
      for (const key of REQUIRED_KEYS) assert.ok(keys.includes(key), `missing api key ${key}`);
      assert.deepEqual(parsed.apiKeys.find((k) => k.apiKey === 18), { apiKey: 18, minVersion: 0, maxVersion: API_TABLE.get(18)!.maxVersion });
      assert.ok(env.brokerLog.find(/api 18 v99, which this broker does not support/), env.brokerLog.text());

      // The client retries at a version it now knows, on the same connection.
      const retry = await client.request(frame(18, 2, 4243));
      assert.equal(retry.correlationId, 4243);
      assert.equal(parseApiVersions(retry.body, 2).errorCode, 0);
      assert.equal(client.closed, false);
    } finally {
      await teardown.run();
    }
  });

  test('a known API at an unsupported version and an unknown API key get correlation id + UNSUPPORTED_VERSION; the connection stays usable', async () => {
    const teardown = new Teardown();
    try {
      const client = await RawClient.open(env.broker.port, teardown);
      // Pipelined in one write: answers must come back in request order.
      client.write(Buffer.concat([
        frame(3, 50, 7, array([])), // Metadata v50
        frame(999, 0, 8, Buffer.from([1, 2, 3])), // no such API
        frame(3, 1, 9, int32(-1)), // Metadata v1, all topics
      ]));
      const first = await client.response();
      assert.equal(first.correlationId, 7);
      assert.deepEqual(first.body, int16(UNSUPPORTED_VERSION));
      const second = await client.response();
      assert.equal(second.correlationId, 8);
      assert.deepEqual(second.body, int16(UNSUPPORTED_VERSION));

      const metadata = await client.response();
      assert.equal(metadata.correlationId, 9);
      const c = new Cursor(metadata.body);
      const brokers = c.array(() => ({ nodeId: c.int32(), host: c.string(), port: c.int32(), rack: c.string() }));
      assert.equal(brokers.length, 1);
      assert.equal(brokers[0]!.port, env.broker.port);
      assert.equal(brokers[0]!.host, env.broker.host);

      const again = await client.request(frame(18, 0, 10));
      assert.equal(again.correlationId, 10);
      assert.equal(parseApiVersions(again.body, 0).errorCode, 0);
      assert.equal(client.closed, false);
      assert.ok(env.brokerLog.find(/api 3 v50, which this broker does not support/), env.brokerLog.text());
      assert.ok(env.brokerLog.find(/api 999 v0, which this broker does not support/), env.brokerLog.text());
    } finally {
      await teardown.run();
    }
  });

  test('a large raw Metadata v1 response (many topics) decodes field by field to what was created', async () => {
    // Regression: responses larger than the encoder's 256-byte scratch buffer used to come back scrambled.
    const teardown = new Teardown();
    try {
      const topics = Array.from({ length: 25 }, (_, i) => ({ name: `${unique('metadata-size-check-with-a-long-name')}-${i}`, partitions: 1 + (i % 4) }));
      for (const t of topics) env.broker.createTopic(t.name, t.partitions);
      const client = await RawClient.open(env.broker.port, teardown);
      const response = await client.request(frame(3, 1, 31, array(topics.map((t) => str(t.name)))));
      assert.equal(response.correlationId, 31);
      assert.ok(response.body.length > 1_000, `response of ${response.body.length} bytes`);
      const c = new Cursor(response.body);
      const brokers = c.array(() => ({ nodeId: c.int32(), host: c.string(), port: c.int32(), rack: c.string() }));
      assert.deepEqual(brokers.map((b) => [b.host, b.port]), [[env.broker.host, env.broker.port]]);
      const controllerId = c.int32();
      assert.equal(controllerId, brokers[0]!.nodeId);
      const described = c.array(() => ({
        errorCode: c.int16(),
        name: c.string(),
        isInternal: c.int8(),
        partitions: c.array(() => ({
          errorCode: c.int16(), partition: c.int32(), leader: c.int32(), replicas: c.array(() => c.int32()), isr: c.array(() => c.int32()),
        })),
      }));
      assert.equal(c.remaining, 0);
      assert.deepEqual(
        described.map((t) => ({ name: t.name, errorCode: t.errorCode, isInternal: t.isInternal, partitions: t.partitions.map((p) => [p.errorCode, p.partition, p.leader, p.replicas, p.isr]) })),
        topics.map((t) => ({
          name: t.name, errorCode: 0, isInternal: 0,
          partitions: Array.from({ length: t.partitions }, (_, p) => [0, p, controllerId, [controllerId], [controllerId]]),
        })),
      );
    } finally {
      await teardown.run();
    }
  });

  test('malformed frames close only their own connection, with a log line; kafkajs clients and other connections carry on', async () => {
    const teardown = new Teardown();
    try {
      const topic = unique('survivor');
      env.broker.createTopic(topic, 1);
      const producer = env.kafka.producer();
      await producer.connect();
      teardown.defer(() => producer.disconnect());
      const received: string[] = [];
      const consumer = env.kafka.consumer({ groupId: unique('group'), sessionTimeout: 10_000, heartbeatInterval: 1_000, maxWaitTimeInMs: 100 });
      await consumer.connect();
      teardown.defer(() => consumer.disconnect());
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void received.push(message.value!.toString()) });
      await producer.send({ topic, messages: [{ value: 'before' }] });
      await waitFor(() => received.length >= 1, 15_000, 'the first message');

      const bystander = await RawClient.open(env.broker.port, teardown);
      assert.equal((await bystander.request(frame(18, 0, 1))).correlationId, 1);

      const maxRequestBytes = 100 * 1024 * 1024;
      const metadataHeader = Buffer.concat([int16(3), int16(1), int32(77), str('liar')]);
      const cases: { name: string; bytes: Buffer; logged: RegExp }[] = [
        { name: 'negative size', bytes: int32(-5), logged: /frame size -5 outside/ },
        { name: 'zero size', bytes: int32(0), logged: /frame size 0 outside/ },
        { name: 'size above the limit', bytes: int32(maxRequestBytes + 1), logged: new RegExp(`frame size ${maxRequestBytes + 1} outside`) },
        {
          name: 'metadata v1 claiming 1,000,000 topics with none behind',
          bytes: Buffer.concat([int32(metadataHeader.length + 4), metadataHeader, int32(1_000_000)]),
          logged: /malformed request \(api 3 v1\).*array length 1000000 exceeds the frame/,
        },
        {
          name: 'client id longer than the frame',
          bytes: Buffer.concat([int32(10), int16(3), int16(1), int32(78), int16(0x7fff)]),
          logged: /malformed request \(api 3 v1\).*frame too short/,
        },
        { name: 'garbage (an HTTP request)', bytes: Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'), logged: /frame size \d+ outside/ },
      ];
      for (const c of cases) {
        const client = await RawClient.open(env.broker.port, teardown);
        const peer = `127.0.0.1:${client.localPort}`;
        client.write(c.bytes);
        await client.waitClosed();
        await waitFor(() => env.brokerLog.lines.some((l) => l.line.includes(`closing connection ${peer}:`)), 2_000, `a log line for ${c.name}`);
        const line = env.brokerLog.lines.find((l) => l.line.includes(`closing connection ${peer}:`))!.line;
        assert.match(line, c.logged, `${c.name}: ${line}`);
      }

      // The bystander connection and the kafkajs clients are unaffected.
      const after = await bystander.request(frame(18, 2, 2));
      assert.equal(after.correlationId, 2);
      assert.equal(parseApiVersions(after.body, 2).errorCode, 0);
      await producer.send({ topic, messages: [{ value: 'after' }] });
      await waitFor(() => received.length >= 2, 15_000, 'the message produced after the bad frames');
      assert.deepEqual(received, ['before', 'after']);
    } finally {
      await teardown.run();
    }
  });

  test('a record batch with a bad CRC is refused with CORRUPT_MESSAGE and nothing is appended', async () => {
    const teardown = new Teardown();
    try {
      const topic = unique('crc');
      env.broker.createTopic(topic, 2);
      const admin = env.kafka.admin();
      await admin.connect();
      teardown.defer(() => admin.disconnect());
      const latest = async () =>
        (await admin.fetchTopicOffsets(topic)).sort((a, b) => a.partition - b.partition).map((p) => Number(p.high));

      const client = await RawClient.open(env.broker.port, teardown);
      const now = Date.now();
      const good = recordBatch([
        { key: Buffer.from('k0'), value: Buffer.from('good-0'), headers: [['h', Buffer.from([1, 2])]] },
        { key: null, value: Buffer.from('good-1') },
      ], now);

      // The hand-built batch is valid: the broker accepts it.
      const accepted = parseProduceV3((await client.request(produceV3(1, topic, [{ partition: 0, records: good }]))).body);
      assert.deepEqual(accepted[0]!.partitions.map((p) => [p.partition, p.errorCode, p.baseOffset]), [[0, 0, 0]]);
      assert.deepEqual(await latest(), [2, 0]);

      const flipped = (at: number) => {
        const copy = Buffer.from(recordBatch([{ key: Buffer.from('k'), value: Buffer.from('corrupted value') }], now));
        copy[at] = copy[at]! ^ 0x5a;
        return copy;
      };
      const corruptions = [
        { what: 'a record byte', batch: flipped(BATCH_RECORDS_AT + 8) },
        { what: 'the base timestamp', batch: flipped(30) },
        { what: 'the CRC itself', batch: flipped(BATCH_CRC_AT + 1) },
      ];
      let correlationId = 10;
      for (const { what, batch } of corruptions) {
        const linesBefore = env.brokerLog.lines.length;
        // The corrupt batch goes to partition 1, a valid one to partition 0 in the same request.
        const response = await client.request(produceV3(++correlationId, topic, [
          { partition: 0, records: recordBatch([{ key: null, value: Buffer.from(`good-${correlationId}`) }], now) },
          { partition: 1, records: batch },
        ]));
        assert.equal(response.correlationId, correlationId);
        const partitions = parseProduceV3(response.body)[0]!.partitions.sort((a, b) => a.partition - b.partition);
        assert.equal(partitions[0]!.errorCode, 0, `valid batch next to ${what}`);
        assert.equal(partitions[1]!.errorCode, CORRUPT_MESSAGE, `flipped ${what}`);
        assert.equal(partitions[1]!.baseOffset, -1);
        assert.ok(env.brokerLog.lines.slice(linesBefore).some((l) => /refused: record batch CRC mismatch/.test(l.line)), env.brokerLog.text());
      }
      assert.deepEqual(await latest(), [2 + corruptions.length, 0], 'the corrupt batches appended nothing');
      assert.equal(client.closed, false, 'a refused batch does not close the connection');

      // kafkajs reads back exactly what was accepted.
      const values: string[] = [];
      const consumer = env.kafka.consumer({ groupId: unique('group'), sessionTimeout: 10_000, heartbeatInterval: 1_000, maxWaitTimeInMs: 100 });
      await consumer.connect();
      teardown.defer(() => consumer.disconnect());
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      let first: { key: string | undefined; headers: unknown } | undefined;
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          if (values.length === 0) first = { key: message.key?.toString(), headers: message.headers };
          values.push(`${partition}:${message.value!.toString()}`);
        },
      });
      await waitFor(() => values.length >= 2 + corruptions.length, 15_000, 'the accepted messages');
      assert.deepEqual(values, ['0:good-0', '0:good-1', '0:good-11', '0:good-12', '0:good-13']);
      assert.deepEqual(first, { key: 'k0', headers: { h: Buffer.from([1, 2]) } });
    } finally {
      await teardown.run();
    }
  });
});
