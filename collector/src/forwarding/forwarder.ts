/**
 * The tee: each export the collector stored is sent on to another OTLP/HTTP endpoint as it arrived
 * (the same bytes, inflated if they came gzipped, under the same Content-Type), in the background.
 * Ingest never waits for it: the span store queues the export in the transaction that stores its
 * spans (store/forward-queue.ts), and this sends what the queue holds. The queue is in the database,
 * so a collector killed or stopped loses nothing it was to forward: the next start sends it (what was
 * in flight at a kill may be sent again: at least once).
 *
 * Up to `maxConcurrentRequests` senders (the OpenTelemetry Collector's `num_consumers`: OTLP exports
 * do not depend on each other's order) take batches, oldest first, from a small buffer the forwarder
 * leases from the store a group at a time; each batch is deleted as soon as it is settled (deletions
 * made together), and everything held is renewed on a timer. Queries are few because on PGlite every
 * query and every I/O callback waits its turn behind the commits, which hold the event loop.
 *
 * A batch the target answers 429/502/503/504, or does not answer, is retried (see retry-policy.ts)
 * until it goes through or `maxRetryElapsedMs` has passed; any other refusal drops it. The waiting
 * batches are bounded by count and bytes: past either bound the oldest are dropped, counted in
 * /metrics, with one warning until the queue drains again.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyBaseLogger } from 'fastify';
import type { CollectorMetrics } from '../ops/metrics.ts';
import type { ForwardQueue, QueuedForward } from '../store/forward-queue.ts';
import { RETRYABLE_STATUSES, parseRetryAfterMs, retryDelayMs } from './retry-policy.ts';

/** Batches, and bytes of bodies, leased at a time. */
const LEASE_GROUP = 32;
const LEASE_GROUP_BYTES = 8 * 1024 * 1024;

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
  /** A batch still failing this long after its first attempt (by this collector) is dropped. Default 300_000. */
  maxRetryElapsedMs?: number;
  /** On close, how long the batches in flight and waiting get to go through; the rest stay queued. Default 5_000. */
  flushTimeoutMs?: number;
  /** How often an idle forwarder looks for batches nobody signalled (another collector's, a lapsed lease). Default 1_000. */
  pollIntervalMs?: number;
  /** Requests in flight at once, at most (the OpenTelemetry Collector's `num_consumers`). Default 10. */
  maxConcurrentRequests?: number;
  /**
   * How long a lease lasts, renewed every quarter of it (so a late renewal or two do not lose it): how
   * long batches held by a collector that was killed wait before another sender takes them. Default 10_000.
   */
  leaseMs?: number;
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
  /** Names this forwarder's leases in the store. */
  readonly #holder = randomUUID();
  #running: Promise<void> | null = null;
  #renewTimer: NodeJS.Timeout | undefined;
  /** Leased and not yet taken by a sender, oldest first. */
  #buffer: QueuedForward[] = [];
  /** The lease query under way, which senders finding the buffer empty wait for: did it lease any? */
  #leasing: Promise<boolean> | null = null;
  /** The renewal under way. */
  #renewing: Promise<void> | null = null;
  /** Ids being sent. */
  readonly #inFlight = new Set<string>();
  /** Ids settled and not yet deleted, and the deletion under way. */
  #settled: string[] = [];
  #removing: Promise<void> | null = null;
  /** Trimming and sizing the queue, one after another. */
  #upkeep: Promise<void> = Promise.resolve();
  #trimPending = false;
  #sizePending = false;
  /** Idle senders, woken when a batch is queued, or on close. */
  readonly #idleSenders = new Set<() => void>();
  #closed = false;
  /** Aborted when the flush time on close has run out: cuts the waits and the requests in flight. */
  readonly #stop = new AbortController();
  /** Batches dropped from a full queue since it last drained (one warning per such spell). */
  #droppedWhileFull = 0;
  /** Batches whose last attempt failed: a spell of failure lasts while any is (one warning, one recovery line). */
  readonly #failing = new Set<string>();
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
      leaseMs: options.leaseMs ?? 10_000,
    };
    const url = new URL(options.url);
    this.#target = `${url.origin}${url.pathname}`; // what logs show: no query string
    this.#queue = parts.queue;
    this.#metrics = parts.metrics;
    this.#log = parts.log;
  }

  /** Starts sending what the queue holds, beginning with what an earlier run left. */
  start(): void {
    if (this.#running) return;
    this.#renewTimer = setInterval(() => this.#renewTick(), this.#options.leaseMs / 4).unref();
    this.#running = (async () => {
      // leases in an exclusive database were left by a process that is gone: take them back now
      if (this.#queue.exclusive) await this.#store(() => this.#queue.releaseAll());
      await this.#keepUp(() => this.#reportSize());
      const senders = Array.from({ length: this.#options.maxConcurrentRequests }, () => this.#sender());
      await Promise.all(senders);
    })();
  }

  /** The store queued a batch: keeps the queue within its bounds and wakes an idle sender. Returns at once. */
  queued(): void {
    if (this.#closed) return;
    // one trim waiting is enough however many exports arrive meanwhile: it sees them all
    if (!this.#trimPending) {
      this.#trimPending = true;
      void this.#keepUp(() => {
        this.#trimPending = false;
        return this.#trim();
      });
    }
    this.#wakeIdle();
  }

  /**
   * Takes no more batches, gives those in flight and waiting up to `flushTimeoutMs`, and stops.
   * Whatever is unsent stays queued in the store for the next start.
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#wakeIdle();
    const deadline = setTimeout(() => this.#stop.abort(), this.#options.flushTimeoutMs);
    await this.#running;
    clearTimeout(deadline);
    clearInterval(this.#renewTimer);
    await this.#renewing; // none may reach the store after close
    await this.#removeSettled();
    await this.#store(() => this.#queue.release(this.#holder, this.#buffer.map((batch) => batch.id)));
    this.#buffer = [];
    await this.#upkeep;
    const left = await this.#store(() => this.#queue.size());
    if (left !== undefined && left.batches > 0) {
      this.#log.info({ target: this.#target, batches: left.batches }, 'forwarding: batches not sent yet stay queued for the next start');
    }
  }

  /** One of the senders: takes the next batch and sends it until settled, until stopped or (closed) none is left. */
  async #sender(): Promise<void> {
    while (!this.#stop.signal.aborted) {
      const batch = await this.#next();
      if (batch === null) {
        if (this.#closed) return;
        await this.#idle();
        continue;
      }
      this.#inFlight.add(batch.id);
      const settled = await this.#deliver(batch);
      this.#inFlight.delete(batch.id);
      if (settled) {
        this.#settled.push(batch.id);
        void this.#removeSettled();
      } else {
        this.#buffer.unshift(batch); // stopped before it went through: released with the rest on close
      }
    }
  }

  /**
   * The oldest batch leased and not yet taken; leases a group when none is (sharing a lease another
   * sender has under way). Null once a lease found nothing waiting, or the store failed.
   */
  async #next(): Promise<QueuedForward | null> {
    for (;;) {
      const batch = this.#buffer.shift();
      if (batch !== undefined) return batch;
      if (!this.#leasing) {
        this.#leasing = (async () => {
          const group = await this.#store(() => this.#queue.lease(this.#holder, this.#options.leaseMs, LEASE_GROUP, LEASE_GROUP_BYTES));
          this.#buffer.push(...(group ?? []));
          return group !== undefined && group.length > 0;
        })();
        void this.#leasing.finally(() => (this.#leasing = null));
      }
      // a group capped by count or bytes may leave more waiting: lease again until one comes back empty
      if (!(await this.#leasing) && this.#buffer.length === 0) return null;
    }
  }

  /** Waits until a batch is queued, the poll interval passes, or close. */
  async #idle(): Promise<void> {
    if (this.#closed) return;
    let wake!: () => void;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    this.#idleSenders.add(wake);
    const timer = setTimeout(wake, this.#options.pollIntervalMs);
    await woken;
    clearTimeout(timer);
    this.#idleSenders.delete(wake);
  }

  #wakeIdle(): void {
    for (const wake of this.#idleSenders) wake();
    this.#idleSenders.clear();
  }

  /** Deletes the settled batches, several in one query; one deletion at a time. */
  async #removeSettled(): Promise<void> {
    while (this.#removing) await this.#removing;
    if (this.#settled.length === 0) return;
    const ids = this.#settled;
    this.#settled = [];
    this.#removing = (async () => {
      const removed = await this.#store(async () => (await this.#queue.remove(ids), true)); // undefined: the store failed
      if (removed === undefined) this.#settled.push(...ids); // the store is down: kept (and renewed) until it answers
      else this.#sizeLater();
    })();
    await this.#removing;
    this.#removing = null;
  }

  /** The renewal timer's tick: one renewal at a time; a deletion that failed is tried again meanwhile. */
  #renewTick(): void {
    if (this.#settled.length > 0 && !this.#removing) void this.#removeSettled();
    if (this.#renewing) return;
    this.#renewing = this.#renew().finally(() => (this.#renewing = null));
  }

  /** Renews the lease of everything held: leased, in flight, settled but not yet deleted. */
  async #renew(): Promise<void> {
    const held = [...this.#buffer.map((batch) => batch.id), ...this.#inFlight, ...this.#settled];
    if (held.length === 0) return;
    const kept = await this.#store(() => this.#queue.renew(this.#holder, held, this.#options.leaseMs));
    if (kept === undefined) return;
    const asked = new Set(held);
    const still = new Set(kept);
    // a lease that lapsed and was taken by another sender is theirs now: not sent from here too
    // (a batch leased while this renewal ran was not asked about, and stays)
    const lost = (batch: QueuedForward) => asked.has(batch.id) && !still.has(batch.id);
    const lostCount = this.#buffer.filter(lost).length;
    if (lostCount > 0) {
      this.#buffer = this.#buffer.filter((batch) => !lost(batch));
      this.#log.warn({ target: this.#target, batches: lostCount }, 'forwarding: leases lapsed and were taken by another forwarder');
    }
  }

  /** Sends the batch until it is settled: true once sent or dropped, false if the forwarder stopped first. */
  async #deliver(batch: QueuedForward): Promise<boolean> {
    const firstAttemptAt = Date.now();
    for (let retry = 1; ; retry += 1) {
      const attempt = await this.#attempt(batch);
      if (attempt.kind === 'sent') {
        this.#metrics.forwardSent();
        this.#recovered(batch);
        return true;
      }
      if (this.#stop.signal.aborted) return false;
      if (this.#failing.size === 0) {
        this.#log.warn({ target: this.#target, problem: attempt.problem }, 'forwarding: the target does not accept batches');
      }
      this.#failing.add(batch.id);
      if (attempt.kind === 'rejected') return this.#dropped(batch, 'rejected');

      const delayMs = retryDelayMs(retry, attempt.retryAfterMs, this.#options, Math.random());
      if (Date.now() + delayMs - firstAttemptAt > this.#options.maxRetryElapsedMs) return this.#dropped(batch, 'retries_exhausted');
      this.#metrics.forwardRetried();
      await sleep(delayMs, undefined, { signal: this.#stop.signal }).catch(() => {});
      if (this.#stop.signal.aborted) return false;
    }
  }

  #dropped(batch: QueuedForward, reason: 'rejected' | 'retries_exhausted'): true {
    this.#metrics.forwardDropped(reason);
    this.#recovered(batch);
    return true;
  }

  /** The batch is settled: the spell of failure ends with the last failing batch. */
  #recovered(batch: QueuedForward): void {
    const wasFailing = this.#failing.size > 0;
    this.#failing.delete(batch.id);
    if (wasFailing && this.#failing.size === 0) this.#log.info({ target: this.#target }, 'forwarding: the target accepts batches again');
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

  /** Updates the queue's gauges soon: one sizing waiting is enough however many settle meanwhile. */
  #sizeLater(): void {
    if (this.#sizePending) return;
    this.#sizePending = true;
    void this.#keepUp(() => {
      this.#sizePending = false;
      return this.#reportSize();
    });
  }

  /** Runs `step` after the upkeep already queued. Never rejects: a failing step is logged. */
  #keepUp(step: () => Promise<void>): Promise<void> {
    const guarded = () => step().catch((error: unknown) => this.#log.error({ err: error }, 'forwarding: upkeep failed'));
    this.#upkeep = this.#upkeep.then(guarded, guarded);
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
