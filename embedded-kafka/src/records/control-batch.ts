import { BATCH } from './record-batch.ts';
import { crc32c } from './crc32c.ts';

/** What a transaction marker says: the producer's records before it are committed or aborted. */
export type ControlType = 'abort' | 'commit';

const ATTR_TRANSACTIONAL = 0x10;
const ATTR_CONTROL = 0x20;

/**
 * The marker a transaction coordinator appends to every partition of a transaction when it ends: a
 * control batch with one record whose key is (version 0, type) and value (version 0, coordinator epoch).
 * Its base offset is rewritten when appended, like any batch.
 */
export function controlBatch(type: ControlType, producerId: number, producerEpoch: number, timestamp: number): Buffer {
  const key = Buffer.alloc(4);
  key.writeInt16BE(0, 0);
  key.writeInt16BE(type === 'commit' ? 1 : 0, 2);
  const value = Buffer.alloc(6); // version 0, coordinator epoch 0
  // record: attributes, timestamp delta, offset delta, key length, key, value length, value, header count
  const body = Buffer.concat([
    Buffer.from([0x00, 0x00, 0x00, key.length * 2]), key,
    Buffer.from([value.length * 2]), value,
    Buffer.from([0x00]),
  ]);
  const record = Buffer.concat([Buffer.from([body.length * 2]), body]);
  const batch = Buffer.alloc(BATCH.HEADER_BYTES + record.length);
  batch.writeBigInt64BE(0n, BATCH.BASE_OFFSET);
  batch.writeInt32BE(batch.length - BATCH.LOG_OVERHEAD, BATCH.LENGTH);
  batch.writeInt32BE(0, BATCH.PARTITION_LEADER_EPOCH);
  batch.writeInt8(2, BATCH.MAGIC);
  batch.writeInt16BE(ATTR_TRANSACTIONAL | ATTR_CONTROL, BATCH.ATTRIBUTES);
  batch.writeInt32BE(0, BATCH.LAST_OFFSET_DELTA);
  batch.writeBigInt64BE(BigInt(timestamp), BATCH.BASE_TIMESTAMP);
  batch.writeBigInt64BE(BigInt(timestamp), BATCH.MAX_TIMESTAMP);
  batch.writeBigInt64BE(BigInt(producerId), BATCH.PRODUCER_ID);
  batch.writeInt16BE(producerEpoch, BATCH.PRODUCER_ID + 8);
  batch.writeInt32BE(-1, BATCH.PRODUCER_ID + 10); // base sequence: markers are not sequenced
  batch.writeInt32BE(1, BATCH.RECORD_COUNT);
  record.copy(batch, BATCH.HEADER_BYTES);
  batch.writeUInt32BE(crc32c(batch, BATCH.ATTRIBUTES), BATCH.CRC);
  return batch;
}

/** The marker type of a control batch's record key, or null when the batch is not a marker. */
export function controlTypeOf(key: Buffer | null): ControlType | null {
  if (!key || key.length < 4) return null;
  const type = key.readInt16BE(2);
  return type === 1 ? 'commit' : type === 0 ? 'abort' : null;
}
