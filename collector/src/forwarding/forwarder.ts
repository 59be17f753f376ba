/**
 * The tee: each export the collector stored is sent on to another OTLP/HTTP endpoint as it arrived
 * (the same bytes, inflated if they came gzipped, under the same Content-Type), in the background.
 * Ingest only enqueues: a slow or dead target never holds an export's answer.
 *
 * One batch is in flight at a time, in arrival order. A batch the target answers 429/502/503/504, or
 * does not answer, is retried (see retry-policy.ts) until it goes through or `maxRetryElapsedMs` has
 * passed; any other refusal drops it. The waiting batches are bounded by count and bytes: past either
 * bound the oldest is dropped, counted in /metrics, with one warning until the queue drains again.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyBaseLogger } from 'fastify';
import type { CollectorMetrics } from '../ops/metrics.ts';
import { RETRYABLE_STATUSES, parseRetryAfterMs, retryDelayMs } from './retry-policy.ts';

export interface ForwardBatch {
  body: Buffer;
  contentType: string;
}

export interface ForwardOptions {
  /** The target's OTLP/HTTP traces URL, e.g. `http://127.0.0.1:4318/v1/traces`. */
  url: string;
  /** Sent with every request, e.g. `{ authorization: 'Bearer …' }`; never logged. Default none. */
  headers?: Readonly<Record<string, string>>;
  /** Batches waiting, at most; one more drops the oldest. Default 1_000. */
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
  /** On close, how long the queue gets to drain; what is left is dropped. Default 5_000. */
  flushTimeoutMs?: number;
}

type Attempt =
  | { kind: 'sent' }
  | { kind: 'retry'; problem: string; retryAfterMs: number | null }
  | { kind: 'rejected'; problem: string };

export class Forwarder {
  readonly #options: Required<ForwardOptions>;
  readonly #target: string;
  readonly #metrics: CollectorMetrics;
  readonly #log: FastifyBaseLogger;
  readonly #queue: ForwardBatch[] = [];
  #queuedBytes = 0;
  #sending: Promise<void> | null = null;
  #closed = false;
  /** Aborted when the flush time on close has run out: cuts the wait or the request in flight. */
  readonly #stop = new AbortController();
  /** Batches dropped from a full queue since it last drained (one warning per such spell). */
  #droppedWhileFull = 0;
  /** The last failure, until a batch goes through again (one warning per such spell). */
  #failing: string | null = null;

  constructor(options: ForwardOptions, parts: { metrics: CollectorMetrics; log: FastifyBaseLogger }) {
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
    };
    const url = new URL(options.url);
    this.#target = `${url.origin}${url.pathname}`; // what logs show: no query string
    this.#metrics = parts.metrics;
    this.#log = parts.log;
  }

  /** Queues the batch and returns at once. */
  enqueue(batch: ForwardBatch): void {
    if (this.#closed) return this.#metrics.forwardDropped('shutdown');
    if (batch.body.length > this.#options.maxQueueBytes) return this.#dropFull();
    this.#queue.push(batch);
    this.#queuedBytes += batch.body.length;
    while (this.#queue.length > this.#options.maxQueueBatches || this.#queuedBytes > this.#options.maxQueueBytes) {
      this.#queuedBytes -= this.#queue.shift()!.body.length;
      this.#dropFull();
    }
    this.#reportQueue();
    this.#sending ??= this.#sendAll();
  }

  /** Takes no more batches, sends the waiting ones for at most `flushTimeoutMs`, and drops the rest. */
  async close(): Promise<void> {
    this.#closed = true;
    const deadline = setTimeout(() => this.#stop.abort(), this.#options.flushTimeoutMs);
    await this.#sending;
    clearTimeout(deadline);
    const left = this.#queue.length;
    if (left === 0) return;
    this.#metrics.forwardDropped('shutdown', left);
    this.#log.warn({ target: this.#target, batches: left }, 'forwarding: batches not sent before shutdown were dropped');
    this.#queue.length = 0;
    this.#queuedBytes = 0;
    this.#reportQueue();
  }

  async #sendAll(): Promise<void> {
    while (this.#queue.length > 0 && !this.#stop.signal.aborted) {
      const batch = this.#queue.shift()!;
      this.#queuedBytes -= batch.body.length;
      this.#reportQueue();
      await this.#deliver(batch);
    }
    this.#sending = null;
    if (this.#queue.length === 0 && this.#droppedWhileFull > 0) {
      this.#log.info({ target: this.#target, dropped: this.#droppedWhileFull }, 'forwarding: the queue has drained');
      this.#droppedWhileFull = 0;
    }
  }

  async #deliver(batch: ForwardBatch): Promise<void> {
    const firstAttemptAt = Date.now();
    for (let retry = 1; ; retry += 1) {
      const attempt = await this.#attempt(batch);
      if (attempt.kind === 'sent') {
        this.#metrics.forwardSent();
        if (this.#failing !== null) this.#log.info({ target: this.#target }, 'forwarding: the target accepts batches again');
        this.#failing = null;
        return;
      }
      if (this.#stop.signal.aborted) return void this.#queue.unshift(batch); // close() counts it
      if (this.#failing === null) {
        this.#log.warn({ target: this.#target, problem: attempt.problem }, 'forwarding: the target does not accept batches');
      }
      this.#failing = attempt.problem;
      if (attempt.kind === 'rejected') return this.#metrics.forwardDropped('rejected');

      const delayMs = retryDelayMs(retry, attempt.retryAfterMs, this.#options, Math.random());
      if (Date.now() + delayMs - firstAttemptAt > this.#options.maxRetryElapsedMs) return this.#metrics.forwardDropped('retries_exhausted');
      this.#metrics.forwardRetried();
      await sleep(delayMs, undefined, { signal: this.#stop.signal }).catch(() => {});
      if (this.#stop.signal.aborted) return void this.#queue.unshift(batch);
    }
  }

  async #attempt(batch: ForwardBatch): Promise<Attempt> {
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

  #dropFull(): void {
    this.#metrics.forwardDropped('queue_full');
    if (this.#droppedWhileFull++ > 0) return;
    const { maxQueueBatches, maxQueueBytes } = this.#options;
    this.#log.warn({ target: this.#target, maxQueueBatches, maxQueueBytes }, 'forwarding: the queue is full, dropping the oldest batches');
  }

  #reportQueue(): void {
    this.#metrics.forwardQueue(this.#queue.length, this.#queuedBytes);
  }
}

/** fetch's own message is "fetch failed"; the reason (ECONNREFUSED, a timeout) is in its cause. */
function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return error instanceof Error ? error.message : String(error);
}
