/**
 * The tee: each export the collector stored is sent on to another OTLP/HTTP endpoint as it arrived
 * (the same bytes, inflated if they came gzipped, under the same Content-Type), in the background.
 * Ingest never waits for it: the span store queues the export in the transaction that stores its
 * spans (store/forward-queue.ts), and this sends what the queue holds, oldest first, several requests
 * at a time. The queue is in the database, so a collector killed or stopped loses nothing it was to
 * forward: the next start sends it (a batch in flight at a kill is sent again: at least once).
 *
 * A batch the target answers 429/502/503/504, or does not answer, is retried (see retry-policy.ts)
 * until it goes through or `maxRetryElapsedMs` has passed; any other refusal drops it. The waiting
 * batches are bounded by count and bytes: past either bound the oldest are dropped, counted in
 * /metrics, with one warning until the queue drains again.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyBaseLogger } from 'fastify';
import type { CollectorMetrics } from '../ops/metrics.ts';
import type { ForwardQueue, QueuedForward } from '../store/forward-queue.ts';
import { RETRYABLE_STATUSES, parseRetryAfterMs, retryDelayMs } from './retry-policy.ts';

/** A lease lasts one attempt's time limit and this much more. */
const LEASE_MARGIN_MS = 2_000;
/** Batches leased at a time. */
const LEASE_GROUP = 32;

export interface ForwardOptions {
  /** The target's OTLP/HTTP traces URL, e.g. `http://127.0.0.1:4318/v1/traces`. */
  url: string;
  /** Sent with every request, e.g. `{ authorization: 'Bearer …' }`; never logged. Default none. */
  headers?: Readonly<Record<string, string>>;
  /** Batches waiting, at most; more drops the oldest. Default 1_000. */
  maxQueueBatches?: number;
  /** Bytes of the batches waiting, at most; more drops the oldest. Default 64 MiB. */
  maxQueueBytes?: number;
  /** One attempt's time limit. Default 10_000. */
  requestTimeoutMs?: number;
  /** Wait before the first retry when the target gave no Retry-After, doubled per retry. Default 1_000. */
  initialBackoffMs?: number;
  /** The longest backoff. Default 30_000. */
  maxBackoffMs?: number;
  /** A batch still failing this long after its first attempt is dropped. Default 300_000. */
  maxRetryElapsedMs?: number;
  /** On close, how long the batch in flight gets to go through; it stays queued if it does not. Default 5_000. */
  flushTimeoutMs?: number;
  /** How often an idle forwarder looks for batches nobody signalled (another collector's, a lapsed lease). Default 1_000. */
  pollIntervalMs?: number;
  /** Requests in flight at once, at most (the OpenTelemetry Collector's `num_consumers`). Default 10. */
  maxConcurrentRequests?: number;
}

type Attempt =
  | { kind: 'sent' }
  | { kind: 'retry'; problem: string; retryAfterMs: number | null }
  | { kind: 'rejected'; problem: string };

export class Forwarder {
  readonly #options: Required<ForwardOptions>;
  readonly #target: string;
  readonly #queue: ForwardQueue;
  readonly #metrics: CollectorMetrics;
  readonly #log: FastifyBaseLogger;
  /**
   * How long a leased batch is ours: an attempt and a margin, renewed before each attempt and through
   * each backoff. Short, because a batch leased by a collector that was killed waits this long.
   */
  readonly #leaseMs: number;
  #running: Promise<void> | null = null;
  /** Trimming and sizing the queue, one after another. */
  #upkeep: Promise<void> = Promise.resolve();
  #trimPending = false;
  #wake: (() => void) | null = null;
  /** When the batches held were last leased or renewed. */
  #renewedAt = 0;
  #closed = false;
  /** Aborted when the flush time on close has run out: cuts the wait or the request in flight. */
  readonly #stop = new AbortController();
  /** Batches dropped from a full queue since it last drained (one warning per such spell). */
  #droppedWhileFull = 0;
  /** The last failure, until a batch goes through again (one warning per such spell). */
  #failing: string | null = null;
  /** The store could not be read, until it can again (one warning per such spell). */
  #storeFailing = false;

  constructor(options: ForwardOptions, parts: { queue: ForwardQueue; metrics: CollectorMetrics; log: FastifyBaseLogger }) {
    this.#options = {
      url: options.url,
      headers: options.headers ?? {},
      maxQueueBatches: options.maxQueueBatches ?? 1_000,
      maxQueueBytes: options.maxQueueBytes ?? 64 * 1024 * 1024,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      initialBackoffMs: options.initialBackoffMs ?? 1_000,
      maxBackoffMs: options.maxBackoffMs ?? 30_000,
      maxRetryElapsedMs: options.maxRetryElapsedMs ?? 300_000,
      flushTimeoutMs: options.flushTimeoutMs ?? 5_000,
      pollIntervalMs: options.pollIntervalMs ?? 1_000,
      maxConcurrentRequests: options.maxConcurrentRequests ?? 10,
    };
    const url = new URL(options.url);
    this.#target = `${url.origin}${url.pathname}`; // what logs show: no query string
    this.#leaseMs = this.#options.requestTimeoutMs + LEASE_MARGIN_MS;
    this.#queue = parts.queue;
    this.#metrics = parts.metrics;
    this.#log = parts.log;
  }

  /** Starts sending what the queue holds, beginning with what an earlier run left. */
  start(): void {
    this.#running ??= this.#sendAll();
    this.#keepUp(() => this.#reportSize());
  }

  /** The store queued a batch: keeps the queue within its bounds and wakes the sender. Returns at once. */
  queued(): void {
    if (this.#closed) return;
    // one trim waiting is enough however many exports arrive meanwhile: it sees them all
    if (!this.#trimPending) {
      this.#trimPending = true;
      this.#keepUp(() => {
        this.#trimPending = false;
        return this.#trim();
      });
    }
    this.#wake?.();
  }

  /**
   * Takes no more batches, gives the one in flight up to `flushTimeoutMs`, and stops. Whatever is
   * unsent stays queued in the store for the next start.
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#wake?.();
    const deadline = setTimeout(() => this.#stop.abort(), this.#options.flushTimeoutMs);
    await this.#running;
    await this.#upkeep;
    clearTimeout(deadline);
    const left = await this.#queue.size().catch(() => null);
    if (left !== null && left.batches > 0) {
      this.#log.info({ target: this.#target, batches: left.batches }, 'forwarding: batches not sent yet stay queued for the next start');
    }
  }

  /**
   * Sends what the queue holds, oldest first, until close (then only until the queue is empty or the
   * flush time is up). Batches are leased a group at a time, sent `maxConcurrentRequests` at once (as
   * the OpenTelemetry Collector's exporters do: OTLP exports do not depend on each other's order), and
   * removed together once settled. On PGlite every query and every I/O callback waits its turn behind
   * the commits, which hold the event loop: one request at a time, the forwarder fell far behind ingest.
   */
  async #sendAll(): Promise<void> {
    while (!this.#stop.signal.aborted) {
      const group = await this.#store(() => this.#queue.lease(LEASE_GROUP, this.#leaseMs));
      if (group === undefined || group.length === 0) {
        if (this.#closed) return;
        await this.#idle();
        continue;
      }
      this.#renewedAt = Date.now();
      const settled = new Set<string>();
      const held = () => group.filter((batch) => !settled.has(batch.id)).map((batch) => batch.id);
      let next = 0;
      const sender = async () => {
        while (next < group.length && !this.#stop.signal.aborted) {
          const batch = group[next++]!;
          if (await this.#deliver(batch, held)) settled.add(batch.id);
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.#options.maxConcurrentRequests, group.length) }, sender));
      await this.#store(() => this.#queue.remove([...settled]));
      // stopped with some unsent: the next start (or another collector) takes them at once
      await this.#store(() => this.#queue.release(held()));
      await this.#keepUp(() => this.#reportSize());
    }
  }

  /** Waits until a batch is queued, the poll interval passes, or close. */
  async #idle(): Promise<void> {
    if (this.#closed) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.#options.pollIntervalMs);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.#wake = null;
  }

  /**
   * Sends the batch until it is settled: true once sent or dropped, false if the forwarder stopped
   * first. `held` gives the leased batches not yet settled: their lease is kept up meanwhile.
   */
  async #deliver(batch: QueuedForward, held: () => string[]): Promise<boolean> {
    const firstAttemptAt = Date.now();
    for (let retry = 1; ; retry += 1) {
      await this.#holdOn(held);
      const attempt = await this.#attempt(batch);
      if (attempt.kind === 'sent') {
        this.#metrics.forwardSent();
        if (this.#failing !== null) this.#log.info({ target: this.#target }, 'forwarding: the target accepts batches again');
        this.#failing = null;
        return true;
      }
      if (this.#stop.signal.aborted) return false;
      if (this.#failing === null) {
        this.#log.warn({ target: this.#target, problem: attempt.problem }, 'forwarding: the target does not accept batches');
      }
      this.#failing = attempt.problem;
      if (attempt.kind === 'rejected') return this.#dropped('rejected');

      const delayMs = retryDelayMs(retry, attempt.retryAfterMs, this.#options, Math.random());
      if (Date.now() + delayMs - firstAttemptAt > this.#options.maxRetryElapsedMs) return this.#dropped('retries_exhausted');
      this.#metrics.forwardRetried();
      await this.#backOff(held, delayMs);
      if (this.#stop.signal.aborted) return false;
    }
  }

  /** Waits `delayMs` before the next attempt, keeping the lease up as it goes. */
  async #backOff(held: () => string[], delayMs: number): Promise<void> {
    const until = Date.now() + delayMs;
    for (let left = delayMs; left > 0 && !this.#stop.signal.aborted; left = until - Date.now()) {
      await sleep(Math.min(left, this.#leaseMs / 2), undefined, { signal: this.#stop.signal }).catch(() => {});
      await this.#holdOn(held);
    }
  }

  /** Renews the lease of `held` once half of it has passed since the last renewal (not per batch sent). */
  async #holdOn(held: () => string[]): Promise<void> {
    if (Date.now() - this.#renewedAt < this.#leaseMs / 2) return;
    this.#renewedAt = Date.now(); // before the query: concurrent senders renew once
    await this.#store(() => this.#queue.renew(held(), this.#leaseMs));
  }

  /** The batch is given up (removed with its group's settled ones); counted why. */
  #dropped(reason: 'rejected' | 'retries_exhausted'): true {
    this.#metrics.forwardDropped(reason);
    return true;
  }

  async #attempt(batch: QueuedForward): Promise<Attempt> {
    try {
      const response = await fetch(this.#options.url, {
        method: 'POST',
        headers: { ...this.#options.headers, 'content-type': batch.contentType },
        body: batch.body,
        signal: AbortSignal.any([this.#stop.signal, AbortSignal.timeout(this.#options.requestTimeoutMs)]),
      });
      await response.arrayBuffer(); // read to the end, so the connection can carry the next batch
      if (response.ok) return { kind: 'sent' };
      const problem = `the target answered ${response.status}`;
      if (!RETRYABLE_STATUSES.has(response.status)) return { kind: 'rejected', problem };
      return { kind: 'retry', problem, retryAfterMs: parseRetryAfterMs(response.headers.get('retry-after'), Date.now()) };
    } catch (error) {
      return { kind: 'retry', problem: `no answer: ${describe(error)}`, retryAfterMs: null };
    }
  }

  async #trim(): Promise<void> {
    const dropped = await this.#store(() => this.#queue.trim(this.#options.maxQueueBatches, this.#options.maxQueueBytes));
    if (dropped !== undefined && dropped > 0) {
      this.#metrics.forwardDropped('queue_full', dropped);
      if (this.#droppedWhileFull === 0) {
        const { maxQueueBatches, maxQueueBytes } = this.#options;
        this.#log.warn({ target: this.#target, maxQueueBatches, maxQueueBytes }, 'forwarding: the queue is full, dropping the oldest batches');
      }
      this.#droppedWhileFull += dropped;
    }
    await this.#reportSize();
  }

  async #reportSize(): Promise<void> {
    const size = await this.#store(() => this.#queue.size());
    if (size === undefined) return;
    this.#metrics.forwardQueue(size.batches, size.bytes);
    if (size.batches === 0 && this.#droppedWhileFull > 0) {
      this.#log.info({ target: this.#target, dropped: this.#droppedWhileFull }, 'forwarding: the queue has drained');
      this.#droppedWhileFull = 0;
    }
  }

  /** Runs `step` after the upkeep already queued; never rejects. */
  #keepUp(step: () => Promise<void>): Promise<void> {
    this.#upkeep = this.#upkeep.then(step, step);
    return this.#upkeep;
  }

  /** A queue operation; undefined when the store failed (logged once a spell, tried again later). */
  async #store<T>(operation: () => Promise<T>): Promise<T | undefined> {
    try {
      const result = await operation();
      if (this.#storeFailing) this.#log.info({ target: this.#target }, 'forwarding: the store answers again');
      this.#storeFailing = false;
      return result;
    } catch (error) {
      if (!this.#storeFailing) this.#log.warn({ target: this.#target, problem: describe(error) }, 'forwarding: the store does not answer');
      this.#storeFailing = true;
      return undefined;
    }
  }
}

/** fetch's own message is "fetch failed"; the reason (ECONNREFUSED, a timeout) is in its cause. */
function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return error instanceof Error ? error.message : String(error);
}
