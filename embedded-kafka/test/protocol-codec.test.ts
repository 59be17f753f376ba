import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c } from '../src/records/crc32c.ts';
import { MalformedInputError, Reader } from '../src/protocol/reader.ts';
import { Writer } from '../src/protocol/writer.ts';
import { decode, encode } from '../src/protocol/schema.ts';
import { FetchRequest, FetchResponse } from '../src/protocol/apis/fetch.ts';
import { MetadataRequest } from '../src/protocol/apis/metadata.ts';
import { API_TABLE } from '../src/handlers/api-table.ts';

test('crc32c matches the Castagnoli check value and agrees across the slicing and byte paths', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 31) & 0xff));
  // Same bytes at an odd start offset: exercises the 8-byte loop and the tail loop differently.
  const shifted = Buffer.concat([Buffer.from([7]), data]);
  assert.equal(crc32c(shifted, 1), crc32c(data));
  assert.notEqual(crc32c(data), crc32c(Buffer.concat([data.subarray(0, 999), Buffer.from([0])])));
});

test('a fetch request round-trips at every advertised version, with fields outside a version defaulted', () => {
  const request: FetchRequest = {
    replicaId: -1, maxWaitMs: 500, minBytes: 1, maxBytes: 1_000_000, isolationLevel: 1, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic: 'orders', partitions: [{ partition: 2, currentLeaderEpoch: 4, fetchOffset: 2 ** 40, logStartOffset: -1, partitionMaxBytes: 1024 }] }],
    forgottenTopicsData: [], rackId: 'r1',
  };
  for (let version = 4; version <= 11; version++) {
    const writer = new Writer();
    encode(FetchRequest, version, request, writer);
    const reader = new Reader(writer.toBuffer());
    const decoded = decode<FetchRequest>(FetchRequest, version, reader);
    assert.equal(reader.remaining, 0, `v${version} left bytes unread`);
    assert.equal(decoded.topics[0]!.partitions[0]!.fetchOffset, 2 ** 40);
    assert.equal(decoded.topics[0]!.partitions[0]!.currentLeaderEpoch, version >= 9 ? 4 : -1);
    assert.equal(decoded.rackId, version >= 11 ? 'r1' : '');
    assert.equal(decoded.sessionEpoch, -1);
  }
});

test('record sets are written by reference and sized as the sum of their batches', () => {
  const big = Buffer.alloc(10_000, 1);
  const small = Buffer.alloc(100, 2);
  const writer = new Writer();
  encode(FetchResponse, 11, {
    throttleTimeMs: 0, errorCode: 0, sessionId: 0,
    responses: [{ topic: 't', partitions: [{ partition: 0, errorCode: 0, highWatermark: 5, lastStableOffset: 5, logStartOffset: 0, abortedTransactions: null, preferredReadReplica: -1, records: [big, small] }] }],
  }, writer);
  assert.ok(writer.toChunks().includes(big), 'a large batch is referenced, not copied');
  const decoded = decode<{ responses: { partitions: { records: Buffer; abortedTransactions: unknown }[] }[] }>(FetchResponse, 11, new Reader(writer.toBuffer()));
  const partition = decoded.responses[0]!.partitions[0]!;
  assert.equal(partition.records.length, 10_100);
  assert.equal(partition.abortedTransactions, null);
});

test('a null topic list is legal in metadata v1+ and malformed in v0', () => {
  const nullArray = Buffer.from([0xff, 0xff, 0xff, 0xff]);
  assert.equal(decode<MetadataRequest>(MetadataRequest, 1, new Reader(nullArray)).topics, null);
  assert.throws(() => decode(MetadataRequest, 0, new Reader(nullArray)), MalformedInputError);
});

test('lying lengths raise MalformedInputError instead of reading past the frame', () => {
  const hugeArray = Buffer.from([0x00, 0x0f, 0x42, 0x40]); // 1,000,000 topics, no bytes behind
  assert.throws(() => decode(MetadataRequest, 1, new Reader(hugeArray)), /array length 1000000 exceeds the frame/);
  const longString = Buffer.from([0x00, 0x00, 0x00, 0x01, 0x7f, 0xff, 0x61]);
  assert.throws(() => decode(MetadataRequest, 1, new Reader(longString)), /frame too short reading string/);
  assert.throws(() => new Reader(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])).uvarint(), /varint longer than 5 bytes/);
});

test('zig-zag varints and varlongs decode negative and large values', () => {
  assert.equal(new Reader(Buffer.from([0x01])).varint(), -1);
  assert.equal(new Reader(Buffer.from([0x96, 0x01])).varint(), 75);
  // 2^40 zig-zag encoded is 2^41: seven-bit groups of 2^41.
  assert.equal(new Reader(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x40])).varlong(), 2 ** 40);
  assert.equal(new Reader(Buffer.from([0x03])).varlong(), -2);
});

test('every advertised version range uses only non-flexible encodings this codec implements', () => {
  // Flexible versions (KIP-482) start at these versions for each API key; advertising them would be a lie.
  const firstFlexible: Record<number, number> = {
    0: 9, 1: 12, 2: 6, 3: 9, 8: 8, 9: 6, 10: 3, 11: 6, 12: 4, 13: 4, 14: 4, 18: 3, 19: 5, 20: 4, 22: 2, 24: 3, 25: 3, 26: 3, 28: 3,
  };
  for (const api of API_TABLE.values()) {
    assert.ok(api.key in firstFlexible, `${api.name} has a known flexible boundary`);
    assert.ok(api.maxVersion < firstFlexible[api.key]!, `${api.name} v${api.maxVersion} would be flexible`);
    assert.ok(api.minVersion <= api.maxVersion);
  }
});

test('the writer keeps every byte when its scratch buffer fills and is replaced mid-frame', () => {
  const writer = new Writer(16);
  for (let i = 0; i < 100; i++) writer.int32(i).int16(-i - 1).nullableString(`s${i}`);
  const reader = new Reader(writer.toBuffer());
  for (let i = 0; i < 100; i++) {
    assert.equal(reader.int32(), i);
    assert.equal(reader.int16(), -i - 1);
    assert.equal(reader.string(), `s${i}`);
  }
  assert.equal(reader.remaining, 0);
});
