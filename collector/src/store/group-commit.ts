/**
 * Group commit: concurrent requests' items wait in one bounded queue, and a single writer loop stores
 * as many whole requests as fit in one transaction, then settles each request's promise when that
 * transaction has committed. There is no timer: while one transaction runs, the next group gathers,
 * so an idle store answers at once (after one event-loop turn) and a busy one amortises each commit
 * over many requests.
 */
import type { CollectorMetrics } from '../ops/metrics.ts';
import { StoreOverloadedError, StoreRejectedDataError, StoreUnavailableError } from './store.ts';

export const DEFAULT_MAX_QUEUED_ITEMS = 100_000;
export const DEFAULT_MAX_ITEMS_PER_COMMIT = 10_000;

export interface GroupCommitOptions {
  /**
   * Items waiting for a transaction, at most. A request that would go past it is refused at once with
   * StoreOverloadedError (the queue never grows beyond it), except when nothing waits: a single
   * request larger than the bound still goes through. Default 100_000.
   */
  maxQueuedItems?: number;
  /**
   * Items per transaction, at most. Requests are never split: a group takes whole requests until the
   * next would pass this, and a single larger request gets a transaction to itself. Default 10_000.
   */
  maxItemsPerCommit?: number;
  /** Told the queue's depth as it changes, and each failed commit, for /metrics. Default none. */
  metrics?: CollectorMetrics;
}

/** One request as the commit function sees it: its items, and what the caller attached to it. */
export interface CommitRequest<Item, Attachment> {
  items: readonly Item[];
  attachment: Attachment | undefined;
}

/** Writes the requests' items in one transaction and returns one result per request, in order. */
export type CommitGroup<Item, Result, Attachment = never> = (requests: readonly CommitRequest<Item, Attachment>[]) => Promise<Result[]>;

export interface GroupCommitStats {
  /** Transactions committed. */
  commits: number;
  /** Requests settled by those transactions. */
  requests: number;
  /** The most requests one transaction carried. */
  largestGroup: number;
}

interface Pending<Item, Result, Attachment> extends CommitRequest<Item, Attachment> {
  resolve: (result: Result) => void;
  reject: (error: unknown) => void;
}

export class GroupCommitter<Item, Result, Attachment = never> {
  readonly #commit: CommitGroup<Item, Result, Attachment>;
  readonly #maxQueuedItems: number;
  readonly #maxItemsPerCommit: number;
  readonly #metrics: CollectorMetrics | undefined;
  #queue: Pending<Item, Result, Attachment>[] = [];
  #queuedItems = 0;
  #writer: Promise<void> = Promise.resolve();
  #writing = false;
  #closed = false;
  readonly #stats: GroupCommitStats = { commits: 0, requests: 0, largestGroup: 0 };

  constructor(commit: CommitGroup<Item, Result, Attachment>, options: GroupCommitOptions = {}) {
    this.#commit = commit;
    this.#maxQueuedItems = options.maxQueuedItems ?? DEFAULT_MAX_QUEUED_ITEMS;
    this.#maxItemsPerCommit = options.maxItemsPerCommit ?? DEFAULT_MAX_ITEMS_PER_COMMIT;
    this.#metrics = options.metrics;
  }

  /**
   * Resolves with the request's result once its transaction commits; rejects if it cannot. The
   * attachment goes to the commit function with the items (what else the transaction must write).
   */
  submit(items: readonly Item[], attachment?: Attachment): Promise<Result> {
    if (this.#closed) return Promise.reject(new StoreUnavailableError('the store is closed'));
    if (this.#queuedItems > 0 && this.#queuedItems + items.length > this.#maxQueuedItems) {
      return Promise.reject(new StoreOverloadedError(this.#queuedItems, this.#maxQueuedItems));
    }
    return new Promise<Result>((resolve, reject) => {
      this.#queue.push({ items, attachment, resolve, reject });
      this.#queuedItems += items.length;
      this.#metrics?.commitQueueDepth(this.#queuedItems);
      if (!this.#writing) {
        this.#writing = true;
        this.#writer = this.#writeAll();
      }
    });
  }

  get queuedItems(): number {
    return this.#queuedItems;
  }

  get stats(): GroupCommitStats {
    return { ...this.#stats };
  }

  /** Refuses new requests, and resolves once every accepted one has been settled. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#writer;
  }

  async #writeAll(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        // PGlite runs SQL on this thread and blocks the event loop meanwhile: let one turn of I/O pass
        // so the requests that arrived during the last commit reach the queue and join this group
        await new Promise<void>((resolve) => setImmediate(resolve));
        await this.#write(this.#takeGroup());
      }
    } finally {
      // cleared in the same tick as the last look at the queue: a later submit starts a new writer
      this.#writing = false;
    }
  }

  #takeGroup(): Pending<Item, Result, Attachment>[] {
    let count = 0;
    let taken = 0;
    for (const pending of this.#queue) {
      if (taken > 0 && count + pending.items.length > this.#maxItemsPerCommit) break;
      count += pending.items.length;
      taken += 1;
    }
    this.#queuedItems -= count;
    this.#metrics?.commitQueueDepth(this.#queuedItems);
    return this.#queue.splice(0, taken);
  }

  async #write(group: Pending<Item, Result, Attachment>[]): Promise<void> {
    let results: Result[];
    try {
      results = await this.#commit(group.map(({ items, attachment }) => ({ items, attachment })));
    } catch (error) {
      // one request's unstorable value must not fail its neighbours: retry each on its own
      if (error instanceof StoreRejectedDataError && group.length > 1) {
        for (const pending of group) await this.#write([pending]);
        return;
      }
      this.#metrics?.storeError(error instanceof StoreRejectedDataError ? 'rejected_data' : 'unavailable');
      for (const pending of group) pending.reject(error);
      return;
    }
    this.#stats.commits += 1;
    this.#stats.requests += group.length;
    this.#stats.largestGroup = Math.max(this.#stats.largestGroup, group.length);
    group.forEach((pending, index) => pending.resolve(results[index]!));
  }
}
