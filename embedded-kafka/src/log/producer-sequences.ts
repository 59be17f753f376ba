import { ErrorCode } from '../protocol/errors.ts';
import type { BatchHeader } from '../records/record-batch.ts';

/** Batches remembered per producer for deduplication, as Kafka's five in-flight requests. */
const REMEMBERED_BATCHES = 5;

interface ProducerEntry {
  epoch: number;
  lastSequence: number;
  recent: { firstSequence: number; lastSequence: number; baseOffset: number }[];
}

export type SequenceCheck = { kind: 'append' } | { kind: 'duplicate'; baseOffset: number } | { kind: 'reject'; errorCode: number; message: string };

/**
 * Idempotent producers number their batches per partition. A retried batch that was already appended
 * is answered with its original offset instead of being written twice; a gap means a lost batch and is
 * refused, as Kafka does.
 */
export class ProducerSequences {
  private producers = new Map<number, ProducerEntry>();

  check(header: BatchHeader): SequenceCheck {
    if (header.producerId < 0 || header.baseSequence < 0) return { kind: 'append' };
    const entry = this.producers.get(header.producerId);
    if (!entry || header.producerEpoch > entry.epoch) return { kind: 'append' };
    if (header.producerEpoch < entry.epoch) {
      return { kind: 'reject', errorCode: ErrorCode.INVALID_PRODUCER_EPOCH, message: `producer epoch ${header.producerEpoch} is older than ${entry.epoch}` };
    }
    const lastSequence = header.baseSequence + header.lastOffsetDelta;
    const duplicate = entry.recent.find((b) => b.firstSequence === header.baseSequence && b.lastSequence === lastSequence);
    if (duplicate) return { kind: 'duplicate', baseOffset: duplicate.baseOffset };
    const expected = entry.lastSequence === 0x7fffffff ? 0 : entry.lastSequence + 1;
    if (header.baseSequence !== expected) {
      return { kind: 'reject', errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, message: `sequence ${header.baseSequence} where ${expected} was expected` };
    }
    return { kind: 'append' };
  }

  /** Records an appended batch (also during recovery, so deduplication survives a restart). */
  appended(header: BatchHeader): void {
    if (header.producerId < 0 || header.baseSequence < 0 || header.isControl) return;
    let entry = this.producers.get(header.producerId);
    if (!entry || header.producerEpoch > entry.epoch) {
      entry = { epoch: header.producerEpoch, lastSequence: -1, recent: [] };
      this.producers.set(header.producerId, entry);
    }
    entry.lastSequence = header.baseSequence + header.lastOffsetDelta;
    entry.recent.push({ firstSequence: header.baseSequence, lastSequence: entry.lastSequence, baseOffset: header.baseOffset });
    if (entry.recent.length > REMEMBERED_BATCHES) entry.recent.shift();
  }
}
