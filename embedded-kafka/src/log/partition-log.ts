import { closeSync, fsyncSync, openSync, readFileSync, ftruncateSync, writeSync } from 'node:fs';
import { BATCH, decodeRecords, readBatchHeader, type BatchHeader } from '../records/record-batch.ts';
import { crc32c } from '../records/crc32c.ts';
import { ProducerSequences } from './producer-sequences.ts';
import { TransactionIndex } from './transaction-index.ts';

interface StoredBatch {
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
  bytes: Buffer;
}

export interface ReadResult {
  batches: Buffer[];
  bytes: number;
}

export type AppendResult = { baseOffset: number } | { errorCode: number; message: string };

/**
 * One partition's log: record batches in offset order, as Kafka keeps them. A batch is stored exactly as
 * the producer sent it, with only its base offset rewritten, so a fetch returns stored bytes unchanged.
 * With a file, every batch is appended to it before the produce is acknowledged and the file is replayed
 * on start; a torn tail from a crash is cut off.
 */
export class PartitionLog {
  private batches: StoredBatch[] = [];
  private fd: number | null = null;
  logStartOffset = 0;
  /** The next offset to assign; also the high watermark, as there is one replica. */
  nextOffset = 0;
  sizeBytes = 0;
  readonly sequences = new ProducerSequences();
  readonly transactions = new TransactionIndex();

  constructor(readonly topic: string, readonly partition: number, readonly file?: string) {
    if (file) this.recover(file);
  }

  private recover(file: string): void {
    this.fd = openSync(file, 'a+');
    const data = readFileSync(file);
    let at = 0;
    while (data.length - at >= BATCH.HEADER_BYTES) {
      const header = readBatchHeader(data, at);
      if (header.sizeBytes < BATCH.HEADER_BYTES || at + header.sizeBytes > data.length) break;
      const batch = data.subarray(at, at + header.sizeBytes);
      // A length that reached the disk before the rest of the batch did: the CRC tells (as Kafka's recovery checks).
      if (header.magic !== 2 || batch.readUInt32BE(BATCH.CRC) !== crc32c(batch, BATCH.ATTRIBUTES)) break;
      this.add(batch, header);
      at += header.sizeBytes;
    }
    if (at < data.length) ftruncateSync(this.fd, at); // a batch half-written when the process died
    if (this.batches.length > 0) this.logStartOffset = this.batches[0]!.baseOffset;
  }

  private add(bytes: Buffer, header: BatchHeader): void {
    this.batches.push({
      baseOffset: header.baseOffset,
      lastOffset: header.baseOffset + header.lastOffsetDelta,
      maxTimestamp: header.maxTimestamp,
      bytes,
    });
    this.nextOffset = header.baseOffset + header.lastOffsetDelta + 1;
    this.sizeBytes += bytes.length;
    this.sequences.appended(header);
    this.transactions.observe(header, bytes);
  }

  /** The first offset read_committed consumers may not read yet (an open transaction's start). */
  get lastStableOffset(): number {
    return this.transactions.lastStableOffset(this.nextOffset);
  }

  /**
   * Appends a produce request's batches unless an idempotent producer's sequence says otherwise: a
   * retried batch already in the log is answered with its original offset, a gap is refused.
   */
  appendChecked(batches: Buffer[], headers: BatchHeader[]): AppendResult {
    for (const header of headers) {
      const check = this.sequences.check(header);
      if (check.kind === 'reject') return check;
      if (check.kind === 'duplicate') return { baseOffset: check.baseOffset };
    }
    return { baseOffset: this.append(batches, headers) };
  }

  /** Appends validated batches, assigning offsets; returns the first offset assigned. */
  append(batches: Buffer[], headers: BatchHeader[]): number {
    const firstOffset = this.nextOffset;
    batches.forEach((batch, i) => {
      const header = { ...headers[i]!, baseOffset: this.nextOffset };
      batch.writeBigInt64BE(BigInt(header.baseOffset), BATCH.BASE_OFFSET);
      if (this.fd !== null) writeSync(this.fd, batch);
      this.add(batch, header);
    });
    return firstOffset;
  }

  /**
   * Batches from the one holding `offset`, up to `maxBytes` and below `upTo` (the last stable offset for
   * read_committed); the first batch is returned even when it is larger, so a consumer can always make
   * progress (KIP-74).
   */
  read(offset: number, maxBytes: number, upTo = this.nextOffset): ReadResult {
    const batches: Buffer[] = [];
    let bytes = 0;
    for (let i = this.indexOf(offset); i < this.batches.length; i++) {
      if (this.batches[i]!.baseOffset >= upTo) break;
      const batch = this.batches[i]!.bytes;
      if (bytes > 0 && bytes + batch.length > maxBytes) break;
      batches.push(batch);
      bytes += batch.length;
    }
    return { batches, bytes };
  }

  /** Index of the first batch whose last offset is at or after `offset`. */
  private indexOf(offset: number): number {
    let low = 0;
    let high = this.batches.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.batches[mid]!.lastOffset < offset) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  /** The first record with a timestamp at or after `timestamp` (ListOffsets by time), or null. */
  offsetForTimestamp(timestamp: number): { offset: number; timestamp: number } | null {
    for (const batch of this.batches) {
      if (batch.maxTimestamp < timestamp) continue;
      const record = decodeRecords(batch.bytes).find((r) => r.timestamp >= timestamp && r.offset >= this.logStartOffset);
      if (record) return { offset: record.offset, timestamp: record.timestamp };
    }
    return null;
  }

  /** Makes appended batches durable against a machine crash, not only a process crash. */
  sync(): void {
    if (this.fd !== null) fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
