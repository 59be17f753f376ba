/**
 * The one storage interface, which the PGlite and PostgreSQL stores implement over the same
 * statements and migrations (sql-span-store.ts). Callers see three kinds of failure, each its own
 * class, because each asks the sender for something different: retry soon (overloaded), retry later
 * (unavailable), or do not retry (rejected as data).
 */
import type { BusinessKey, SpanId, SpanRecord, TraceId } from '../core/span.ts';
import type { AlertStore } from './alert-store.ts';
import type { FlowStore } from './flow-store.ts';
import type { LiveFeed } from './live-feed.ts';
import type { ForwardBatch, ForwardQueue } from './forward-queue.ts';
import type { OperationSummary, ServiceSummary, SpanPage, SpanSearch } from './span-search.ts';

export interface SpanStore {
  /**
   * Stores the spans and resolves once the transaction holding them has committed: only then may the
   * sender be told they are kept. Idempotent by (traceId, spanId): a span already stored is left as
   * it was. Rejects with StoreOverloadedError, StoreUnavailableError or StoreRejectedDataError.
   */
  writeSpans(spans: readonly SpanRecord[], forward?: ForwardBatch): Promise<WriteResult>;
  /**
   * Exports waiting to be sent on to another OTLP endpoint. `writeSpans` queues its `forward` batch in
   * the transaction that stores the spans, when at least one of them is new to the store.
   */
  readonly forwardQueue: ForwardQueue;
  /** The flow tables: the API's reads, and flow assembly's session (flow-store.ts). */
  readonly flows: FlowStore;
  /** Alerts on stuck flows, people's notes on them, and the notifications owed (alert-store.ts). */
  readonly alerts: AlertStore;
  /** What assembly commits, as it commits it, for GET /api/live (live-feed.ts). */
  readonly live: LiveFeed;
  /** Whether committed spans are queued for flow assembly (every collector on a database must agree). */
  readonly assemblesFlows: boolean;
  /** The trace's spans by start time (then span id); empty when none is stored. */
  spansOfTrace(traceId: TraceId): Promise<SpanRecord[]>;
  /** Spans carrying the business key, by start time (then trace and span id), at most `limit`. */
  spansOfBusinessKey(businessKey: BusinessKey, limit: number): Promise<SpanRecord[]>;
  /** Spans with a link to the given span: how a consumer that linked (not parented) its producer is found. */
  spansLinkingTo(traceId: TraceId, spanId: SpanId): Promise<SpanRecord[]>;
  /** The stored spans the given span links to (a consumer's producers), by start time. */
  spansLinkedFrom(traceId: TraceId, spanId: SpanId): Promise<SpanRecord[]>;
  /** One page of the spans matching every filter of the search, in its order, and where the next page starts. */
  searchSpans(search: SpanSearch): Promise<SpanPage>;
  /** Every service that sent spans, by name, with its span count and latest span end. */
  services(): Promise<ServiceSummary[]>;
  /** The (name, kind) pairs of a service's spans, by name then kind; empty for a service never seen. */
  operationsOfService(serviceName: string): Promise<OperationSummary[]>;
  /**
   * Deletes up to `limit` spans that started before `cutoffMs` (epoch ms), oldest first, with their
   * links; returns how many went. Retention calls it in bounded rounds so no statement holds locks long.
   */
  deleteSpansStartedBefore(cutoffMs: number, limit: number): Promise<number>;
  /** Deletes up to `limit` flows whose last event ended before `cutoffMs`, oldest first, with their members and points; how many went. */
  deleteFlowsEndedBefore(cutoffMs: number, limit: number): Promise<number>;
  /** Resolves when the store answers a trivial query; rejects with StoreUnavailableError otherwise. */
  ping(): Promise<void>;
  /** Finishes the writes already accepted, then releases the store. Later calls reject as unavailable. */
  close(): Promise<void>;
}

export interface WriteResult {
  /** Spans new to the store. */
  stored: number;
  /** Spans already stored (a re-sent batch), left unchanged. */
  duplicates: number;
}

/** Too many spans are waiting for a transaction: the request is refused before it queues. */
export class StoreOverloadedError extends Error {
  constructor(readonly queuedSpans: number, readonly maxQueuedSpans: number) {
    super(`${queuedSpans} spans are waiting to be stored, the most allowed is ${maxQueuedSpans}`);
    this.name = 'StoreOverloadedError';
  }
}

/** The store cannot commit now (closed, I/O error, crashed engine). Nothing of the request was kept. */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

/** The store refused the spans themselves (a value it cannot hold); sending them again will not help. */
export class StoreRejectedDataError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreRejectedDataError';
  }
}
