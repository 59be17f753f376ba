import { controlTypeOf } from '../records/control-batch.ts';
import { decodeRecords, type BatchHeader } from '../records/record-batch.ts';

export interface AbortedTransaction {
  producerId: number;
  firstOffset: number;
  lastOffset: number;
}

/**
 * One partition's view of transactions: which producers have a transaction open here (from their first
 * transactional batch until their marker), and which ranges were aborted. From it follow the last
 * stable offset that read_committed consumers may read up to, and the aborted list a fetch returns.
 */
export class TransactionIndex {
  /** Open transactions: producer id → first offset and epoch. */
  readonly open = new Map<number, { firstOffset: number; epoch: number }>();
  private aborted: AbortedTransaction[] = [];

  observe(header: BatchHeader, batch: Buffer): void {
    if (!header.isTransactional) return;
    if (!header.isControl) {
      if (!this.open.has(header.producerId)) this.open.set(header.producerId, { firstOffset: header.baseOffset, epoch: header.producerEpoch });
      return;
    }
    const type = controlTypeOf(decodeRecords(batch, header)[0]?.key ?? null);
    const open = this.open.get(header.producerId);
    this.open.delete(header.producerId);
    if (type === 'abort' && open) this.aborted.push({ producerId: header.producerId, firstOffset: open.firstOffset, lastOffset: header.baseOffset });
  }

  /** The first offset a read_committed consumer may not see yet. */
  lastStableOffset(highWatermark: number): number {
    let stable = highWatermark;
    for (const { firstOffset } of this.open.values()) stable = Math.min(stable, firstOffset);
    return stable;
  }

  /** Aborted transactions overlapping [from, to): the consumer drops their records. */
  abortedBetween(from: number, to: number): { producerId: number; firstOffset: number }[] {
    return this.aborted
      .filter((t) => t.lastOffset >= from && t.firstOffset < to)
      .map(({ producerId, firstOffset }) => ({ producerId, firstOffset }));
  }
}
