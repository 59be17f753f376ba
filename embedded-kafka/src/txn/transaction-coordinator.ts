import { ErrorCode } from '../protocol/errors.ts';
import { controlBatch, type ControlType } from '../records/control-batch.ts';
import { readBatchHeader } from '../records/record-batch.ts';
import type { CommittedOffset, OffsetStore } from '../group/offset-store.ts';
import type { TopicStore } from '../log/topic-store.ts';
import type { AppendSignal } from '../broker/append-signal.ts';

/** `transaction.max.timeout.ms`. */
const MAX_TRANSACTION_TIMEOUT_MS = 900_000;
const MAX_EPOCH = 32_766;

interface Transaction {
  transactionalId: string;
  producerId: number;
  epoch: number;
  timeoutMs: number;
  /** `topic\0partition` keys of the partitions written in the open transaction. */
  partitions: Set<string>;
  offsets: { groupId: string; topic: string; partition: number; committed: CommittedOffset }[];
  ongoing: boolean;
  timer: NodeJS.Timeout | null;
}

export interface ProducerFence {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
}

/**
 * Transactions as Kafka's coordinator runs them: a transactional id maps to a producer id whose epoch
 * fences older instances; partitions and group offsets join the open transaction; ending it appends a
 * COMMIT or ABORT marker to every partition (and applies the offsets on commit). A transaction left
 * open past its timeout is aborted. State is kept in memory: after a restart, transactions that were
 * open in the logs are aborted (see `abortInDoubt`).
 */
export class TransactionCoordinator {
  private byId = new Map<string, Transaction>();
  private byProducer = new Map<number, Transaction>();
  // Producer ids must not repeat across restarts, or deduplication would confuse two producers.
  private nextProducerId = Date.now() * 16;

  constructor(
    private readonly topics: TopicStore,
    private readonly offsets: OffsetStore,
    private readonly appends: AppendSignal,
    private readonly log: (line: string) => void,
  ) {}

  initProducerId(transactionalId: string | null, timeoutMs: number): { errorCode: number; producerId: number; producerEpoch: number } {
    if (transactionalId === null) return { errorCode: ErrorCode.NONE, producerId: this.nextProducerId++, producerEpoch: 0 };
    if (timeoutMs <= 0 || timeoutMs > MAX_TRANSACTION_TIMEOUT_MS) return { errorCode: ErrorCode.INVALID_TRANSACTION_TIMEOUT, producerId: -1, producerEpoch: -1 };
    let txn = this.byId.get(transactionalId);
    if (txn) {
      if (txn.ongoing) this.finish(txn, 'abort'); // a new instance of the producer: its predecessor's work is void
      txn.epoch++;
      if (txn.epoch > MAX_EPOCH) this.assignProducerId(txn);
      txn.timeoutMs = timeoutMs;
    } else {
      txn = { transactionalId, producerId: -1, epoch: 0, timeoutMs, partitions: new Set(), offsets: [], ongoing: false, timer: null };
      this.byId.set(transactionalId, txn);
      this.assignProducerId(txn);
    }
    return { errorCode: ErrorCode.NONE, producerId: txn.producerId, producerEpoch: txn.epoch };
  }

  private assignProducerId(txn: Transaction): void {
    this.byProducer.delete(txn.producerId);
    txn.producerId = this.nextProducerId++;
    txn.epoch = 0;
    this.byProducer.set(txn.producerId, txn);
  }

  /** The transaction a request speaks for, or the error that fences it off. */
  private fenced(request: ProducerFence): Transaction | number {
    const txn = this.byId.get(request.transactionalId);
    if (!txn || txn.producerId !== request.producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (txn.epoch !== request.producerEpoch) return ErrorCode.INVALID_PRODUCER_EPOCH;
    return txn;
  }

  private begin(txn: Transaction): void {
    if (txn.ongoing) return;
    txn.ongoing = true;
    txn.timer = setTimeout(() => {
      this.log(`transaction ${txn.transactionalId} aborted after its ${txn.timeoutMs} ms timeout`);
      this.finish(txn, 'abort');
    }, txn.timeoutMs).unref();
  }

  addPartitions(request: ProducerFence, partitions: { topic: string; partition: number }[]): number[] {
    const txn = this.fenced(request);
    return partitions.map(({ topic, partition }) => {
      if (typeof txn === 'number') return txn;
      if (!this.topics.partition(topic, partition)) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      this.begin(txn);
      txn.partitions.add(`${topic}\u0000${partition}`);
      return ErrorCode.NONE;
    });
  }

  addOffsets(request: ProducerFence): number {
    const txn = this.fenced(request);
    if (typeof txn === 'number') return txn;
    this.begin(txn);
    return ErrorCode.NONE;
  }

  commitOffsets(request: ProducerFence, groupId: string, topic: string, partition: number, committed: CommittedOffset): number {
    const txn = this.fenced(request);
    if (typeof txn === 'number') return txn;
    if (!txn.ongoing) return ErrorCode.INVALID_TXN_STATE;
    if (!this.topics.partition(topic, partition)) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    txn.offsets.push({ groupId, topic, partition, committed });
    return ErrorCode.NONE;
  }

  end(request: ProducerFence, committed: boolean): number {
    const txn = this.fenced(request);
    if (typeof txn === 'number') return txn;
    if (!txn.ongoing) return ErrorCode.INVALID_TXN_STATE;
    this.finish(txn, committed ? 'commit' : 'abort');
    return ErrorCode.NONE;
  }

  /** Whether a transactional batch from this producer may be written to this partition. */
  mayWrite(producerId: number, producerEpoch: number, topic: string, partition: number): number {
    const txn = this.byProducer.get(producerId);
    if (!txn) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (txn.epoch !== producerEpoch) return ErrorCode.INVALID_PRODUCER_EPOCH;
    return txn.partitions.has(`${topic}\u0000${partition}`) ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE;
  }

  private finish(txn: Transaction, type: ControlType): void {
    if (txn.timer) clearTimeout(txn.timer);
    for (const key of txn.partitions) {
      const [topic, partition] = key.split('\u0000') as [string, string];
      this.writeMarker(topic, Number(partition), type, txn.producerId, txn.epoch);
    }
    if (type === 'commit') {
      for (const o of txn.offsets) this.offsets.commit(o.groupId, o.topic, o.partition, o.committed);
    }
    txn.partitions.clear();
    txn.offsets = [];
    txn.ongoing = false;
    txn.timer = null;
  }

  private writeMarker(topic: string, partition: number, type: ControlType, producerId: number, epoch: number): void {
    const log = this.topics.partition(topic, partition);
    if (!log) return; // the topic was deleted meanwhile
    const marker = controlBatch(type, producerId, epoch, Date.now());
    log.append([marker], [readBatchHeader(marker)]);
    this.appends.notify(topic, partition);
  }

  /** Transactions found open in the logs at start-up have lost their coordinator: abort them. */
  abortInDoubt(): void {
    for (const topic of this.topics.list()) {
      for (const log of topic.partitions) {
        for (const [producerId, { epoch }] of [...log.transactions.open]) {
          this.log(`aborting transaction of producer ${producerId} left open in ${topic.name}-${log.partition}`);
          this.writeMarker(topic.name, log.partition, 'abort', producerId, epoch);
        }
      }
    }
  }

  close(): void {
    for (const txn of this.byId.values()) if (txn.timer) clearTimeout(txn.timer);
  }
}
