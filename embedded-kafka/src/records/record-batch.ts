import { gunzipSync } from 'node:zlib';
import { MalformedInputError, Reader } from '../protocol/reader.ts';
import { crc32c } from './crc32c.ts';

/** Byte positions in a RecordBatch (message format v2), from the protocol guide. */
export const BATCH = {
  BASE_OFFSET: 0,
  LENGTH: 8,
  PARTITION_LEADER_EPOCH: 12,
  MAGIC: 16,
  CRC: 17,
  ATTRIBUTES: 21,
  LAST_OFFSET_DELTA: 23,
  BASE_TIMESTAMP: 27,
  MAX_TIMESTAMP: 35,
  PRODUCER_ID: 43,
  RECORD_COUNT: 57,
  HEADER_BYTES: 61,
  /** baseOffset + batchLength: the part of a batch outside batchLength. */
  LOG_OVERHEAD: 12,
} as const;

export const Compression = { NONE: 0, GZIP: 1, SNAPPY: 2, LZ4: 3, ZSTD: 4 } as const;
const COMPRESSION_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/** What the log needs to know about a batch without reading its records. */
export interface BatchHeader {
  baseOffset: number;
  /** Bytes of the whole batch, including baseOffset and batchLength. */
  sizeBytes: number;
  magic: number;
  compression: number;
  isTransactional: boolean;
  isControl: boolean;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  /** -1 unless the producer is idempotent or transactional. */
  producerId: number;
  producerEpoch: number;
  /** Sequence number of the batch's first record, per producer and partition; -1 when unsequenced. */
  baseSequence: number;
  recordCount: number;
}

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface KafkaRecord {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

/** Why a produced batch was refused; `code` picks the Kafka error code the handler answers with. */
export class InvalidBatchError extends Error {
  constructor(message: string, readonly code: 'corrupt' | 'unsupported-compression' | 'unsupported-format' | 'invalid-record') {
    super(message);
  }
}

export function readBatchHeader(batch: Buffer, at = 0): BatchHeader {
  if (batch.length - at < BATCH.HEADER_BYTES) throw new InvalidBatchError('record batch shorter than its header', 'corrupt');
  const reader = new Reader(batch, at);
  const baseOffset = reader.int64();
  const batchLength = reader.int32();
  reader.int32(); // partition leader epoch
  const magic = reader.int8();
  reader.uint32(); // crc
  const attributes = reader.int16();
  const lastOffsetDelta = reader.int32();
  const baseTimestamp = reader.int64();
  const maxTimestamp = reader.int64();
  const producerId = reader.int64();
  const producerEpoch = reader.int16();
  const baseSequence = reader.int32();
  const recordCount = reader.int32();
  return {
    baseOffset,
    sizeBytes: batchLength + BATCH.LOG_OVERHEAD,
    magic,
    compression: attributes & 0x07,
    isTransactional: (attributes & 0x10) !== 0,
    isControl: (attributes & 0x20) !== 0,
    lastOffsetDelta,
    baseTimestamp,
    maxTimestamp,
    producerId,
    producerEpoch,
    baseSequence,
    recordCount,
  };
}

/**
 * Splits a produce request's record set into batches and checks each as a broker must before
 * appending: format v2, length, CRC-32C, a codec we can read, and records that decode and match the
 * header's count and offset deltas.
 */
export function validateRecordSet(records: Buffer): { batches: Buffer[]; headers: BatchHeader[] } {
  const batches: Buffer[] = [];
  const headers: BatchHeader[] = [];
  let at = 0;
  while (at < records.length) {
    if (records.length - at < BATCH.MAGIC + 1) throw new InvalidBatchError('truncated record batch', 'corrupt');
    const magic = records.readInt8(at + BATCH.MAGIC);
    if (magic !== 2) throw new InvalidBatchError(`message format v${magic} is not supported; produce v3+ requires v2`, 'unsupported-format');
    const header = readBatchHeader(records, at);
    if (header.sizeBytes < BATCH.HEADER_BYTES || at + header.sizeBytes > records.length) {
      throw new InvalidBatchError(`record batch length ${header.sizeBytes} does not fit the record set`, 'corrupt');
    }
    const batch = records.subarray(at, at + header.sizeBytes);
    const expected = batch.readUInt32BE(BATCH.CRC);
    const actual = crc32c(batch, BATCH.ATTRIBUTES);
    if (expected !== actual) throw new InvalidBatchError(`record batch CRC mismatch (${expected} != ${actual})`, 'corrupt');
    if (header.recordCount !== header.lastOffsetDelta + 1) {
      throw new InvalidBatchError(`record count ${header.recordCount} disagrees with last offset delta ${header.lastOffsetDelta}`, 'invalid-record');
    }
    const decoded = decodeRecords(batch, header);
    decoded.forEach((record, i) => {
      if (record.offset - header.baseOffset !== i) throw new InvalidBatchError(`record ${i} has offset delta ${record.offset - header.baseOffset}`, 'invalid-record');
    });
    batches.push(batch);
    headers.push(header);
    at += header.sizeBytes;
  }
  return { batches, headers };
}

function recordBytes(batch: Buffer, header: BatchHeader): Buffer {
  const body = batch.subarray(BATCH.HEADER_BYTES, header.sizeBytes);
  switch (header.compression) {
    case Compression.NONE:
      return body;
    case Compression.GZIP:
      try {
        return gunzipSync(body);
      } catch (error) {
        throw new InvalidBatchError(`gzip batch does not inflate: ${(error as Error).message}`, 'corrupt');
      }
    default:
      throw new InvalidBatchError(
        `compression ${COMPRESSION_NAMES[header.compression] ?? header.compression} is not supported (none and gzip are)`,
        'unsupported-compression',
      );
  }
}

/** Decodes every record of one batch (uncompressed or gzip). */
export function decodeRecords(batch: Buffer, header = readBatchHeader(batch)): KafkaRecord[] {
  const bytes = recordBytes(batch, header);
  const reader = new Reader(bytes);
  const records: KafkaRecord[] = [];
  try {
    for (let i = 0; i < header.recordCount; i++) {
      const length = reader.varint();
      const end = reader.offset + length;
      if (length < 0 || end > bytes.length) throw new MalformedInputError('record length exceeds batch');
      reader.int8(); // record attributes: unused in v2
      const timestampDelta = reader.varlong();
      const offsetDelta = reader.varint();
      const key = readVarBytes(reader);
      const value = readVarBytes(reader);
      const headerCount = reader.varint();
      if (headerCount < 0 || headerCount > end - reader.offset) throw new MalformedInputError('bad header count');
      const headers: RecordHeader[] = [];
      for (let h = 0; h < headerCount; h++) {
        const keyBytes = readVarBytes(reader);
        if (keyBytes === null) throw new MalformedInputError('null header key');
        headers.push({ key: keyBytes.toString('utf8'), value: readVarBytes(reader) });
      }
      if (reader.offset !== end) throw new MalformedInputError('record length disagrees with its fields');
      records.push({ offset: header.baseOffset + offsetDelta, timestamp: header.baseTimestamp + timestampDelta, key, value, headers });
    }
  } catch (error) {
    if (error instanceof MalformedInputError) throw new InvalidBatchError(`malformed record: ${error.message}`, 'invalid-record');
    throw error;
  }
  if (reader.remaining !== 0) throw new InvalidBatchError('bytes after the last record', 'invalid-record');
  return records;
}

function readVarBytes(reader: Reader): Buffer | null {
  const length = reader.varint();
  if (length < 0) return null;
  return reader.raw(length);
}
