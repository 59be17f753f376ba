/**
 * The collector's Prometheus metrics, in one registry per server: the adapters (ingest, group commit,
 * forwarding, the request hook) call the methods below where things happen, and /metrics renders the
 * registry beside the process's own metrics (CPU, memory, event loop, GC), which are collected once
 * per process since every server in it would report the same.
 *
 * Spans add up: received = stored + duplicate + rejected (every reason), except that spans of an
 * export answered 503 for a slow commit and committed afterwards count both as rejected and as stored.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { StoreGauge, type CountByLabel } from './store-gauge.ts';
import { FLOW_STATES } from '../core/stalls.ts';

/** Why spans were not stored: a span of its own (`invalid`) or its whole export refused. */
export type SpanRejectionReason = 'invalid' | 'overloaded' | 'store_unavailable' | 'commit_timeout' | 'unstorable';
/** Why a store commit failed: the store (retry later) or the data (never). */
export type StoreErrorKind = 'unavailable' | 'rejected_data';
/** Why a batch was not forwarded: the queue overflowed, the target refused it, or retries ran out. */
export type ForwardDropReason = 'queue_full' | 'rejected' | 'retries_exhausted';

let processRegistry: Registry | undefined;

export class CollectorMetrics {
  readonly registry = new Registry();

  readonly #spansReceived = this.#counter('choreoscope_spans_received_total', 'Spans in decoded OTLP exports.');
  readonly #spansRejected = this.#counter('choreoscope_spans_rejected_total', 'Spans not stored, by reason.', ['reason']);
  readonly #spansStored = this.#counter('choreoscope_spans_stored_total', 'Spans newly committed to the store.');
  readonly #spansDuplicate = this.#counter('choreoscope_spans_duplicate_total', 'Spans received again, already stored.');
  readonly #storeErrors = this.#counter('choreoscope_store_commit_errors_total', 'Failed store commits (one per group), by kind.', ['kind']);
  readonly #retentionDeleted = this.#counter('choreoscope_retention_spans_deleted_total', 'Spans deleted for being older than the retention.');
  readonly #retentionFailures = this.#counter('choreoscope_retention_sweeps_failed_total', 'Retention sweeps that failed (store unavailable).');
  readonly #commitQueue = new Gauge({
    name: 'choreoscope_commit_queue_spans',
    help: 'Spans waiting in the group-commit queue.',
    registers: [this.registry],
  });
  readonly #requests = new Histogram({
    name: 'choreoscope_http_request_duration_seconds',
    help: 'HTTP requests by method, route and status, with their duration; route="/v1/traces" is ingest.',
    labelNames: ['method', 'route', 'status'],
    registers: [this.registry],
  });
  readonly #forwardSent = this.#counter('choreoscope_forward_batches_sent_total', 'Batches the forward target accepted.');
  readonly #forwardDropped = this.#counter('choreoscope_forward_batches_dropped_total', 'Batches never forwarded, by reason.', ['reason']);
  readonly #forwardRetries = this.#counter('choreoscope_forward_retries_total', 'Forward attempts retried (429, 502, 503, 504, connection error, timeout).');
  readonly #forwardQueueBatches = new Gauge({ name: 'choreoscope_forward_queue_batches', help: 'Batches waiting to be forwarded.', registers: [this.registry] });
  readonly #forwardQueueBytes = new Gauge({ name: 'choreoscope_forward_queue_bytes', help: 'Bytes of the batches waiting to be forwarded.', registers: [this.registry] });

  readonly #flowSpans = this.#counter('choreoscope_flow_spans_assembled_total', 'Spans added to flows by assembly.');
  readonly #flowRounds = this.#counter('choreoscope_flow_assembly_rounds_total', 'Assembly rounds that stored what they made.');
  readonly #flowRoundFailures = this.#counter('choreoscope_flow_assembly_failures_total', 'Assembly rounds that failed (the store unavailable); retried.');
  readonly #flowsWritten = this.#counter('choreoscope_flows_written_total', 'Flows created or changed, as stored by assembly rounds.');
  readonly #sharedKeys = this.#counter('choreoscope_flow_shared_keys_total', 'Business keys found shared by unrelated chains, no longer joining.');
  readonly #spanProblems = this.#counter('choreoscope_flow_span_problems_total', 'Spans whose references could not be followed (their own parent, an oversized key).');
  readonly #flowWorkingSet = new Gauge({ name: 'choreoscope_flow_working_set_flows', help: 'Flows held in memory by the assembler.', registers: [this.registry] });
  readonly #assembling = new Gauge({ name: 'choreoscope_flow_assembler', help: '1 while this collector assembles flows (one per database).', registers: [this.registry] });
  readonly #flowStates = new StoreGauge(this.registry, 'choreoscope_flows',
    'Flows active in the last hour (their last event), by state: running, late, stalled, completed, failed, compensated.', 'state', FLOW_STATES);
  readonly #alertsFiring = new StoreGauge(this.registry, 'choreoscope_alerts_firing', 'Alerts on stuck flows firing now, by severity.', 'severity', ['critical', 'warning']);
  readonly #notifications = this.#counter('choreoscope_alert_notifications_total',
    'Alert notifications settled by this collector, by receiver kind (webhook, alertmanager, slack) and outcome (delivered, failed, silenced).',
    ['receiver', 'outcome']);
  readonly #backlogSpans = new Gauge({
    name: 'choreoscope_flow_backlog_spans',
    help: 'Spans committed (by any collector on the database) and not yet assembled into flows; set by the collector that assembles.',
    registers: [this.registry],
  });
  readonly #backlogSeconds = new Gauge({
    name: 'choreoscope_flow_backlog_oldest_seconds',
    help: 'How long the oldest span not yet assembled into flows has waited since its commit; 0 when none waits.',
    registers: [this.registry],
  });

  constructor() {
    // series that read 0 are shown before anything happens, so a dashboard need not guess their labels
    for (const reason of ['invalid', 'overloaded', 'store_unavailable', 'commit_timeout', 'unstorable'] satisfies SpanRejectionReason[]) this.#spansRejected.inc({ reason }, 0);
    for (const kind of ['unavailable', 'rejected_data'] satisfies StoreErrorKind[]) this.#storeErrors.inc({ kind }, 0);
    for (const reason of ['queue_full', 'rejected', 'retries_exhausted'] satisfies ForwardDropReason[]) this.#forwardDropped.inc({ reason }, 0);
    for (const receiver of ['webhook', 'alertmanager', 'slack']) {
      for (const outcome of ['delivered', 'failed', 'silenced']) this.#notifications.inc({ receiver, outcome }, 0);
    }
  }

  /** An export whose spans were committed: `rejected` of its spans were invalid on their own. */
  exportStored(result: { received: number; rejected: number; stored: number; duplicates: number }): void {
    this.#spansReceived.inc(result.received);
    this.#spansRejected.inc({ reason: 'invalid' }, result.rejected);
    this.#spansStored.inc(result.stored);
    this.#spansDuplicate.inc(result.duplicates);
  }

  /** A decoded export refused whole: its valid spans count under `reason`, the invalid ones as invalid. */
  exportRefused(result: { received: number; rejected: number }, reason: Exclude<SpanRejectionReason, 'invalid'>): void {
    this.#spansReceived.inc(result.received);
    this.#spansRejected.inc({ reason: 'invalid' }, result.rejected);
    this.#spansRejected.inc({ reason }, result.received - result.rejected);
  }

  /**
   * An export answered 503 for its slow commit (counted then as rejected, `commit_timeout`) whose spans
   * were committed afterwards: they count as stored too, so stored + duplicate + rejected may pass
   * received by these.
   */
  storedAfterCommitTimeout(result: { stored: number; duplicates: number }): void {
    this.#spansStored.inc(result.stored);
    this.#spansDuplicate.inc(result.duplicates);
  }

  storeError(kind: StoreErrorKind): void {
    this.#storeErrors.inc({ kind });
  }

  retentionSwept(outcome: { deleted: number } | { error: Error }): void {
    if ('error' in outcome) this.#retentionFailures.inc();
    else this.#retentionDeleted.inc(outcome.deleted);
  }

  commitQueueDepth(spans: number): void {
    this.#commitQueue.set(spans);
  }

  /** `route` is the matched route's pattern (`/api/traces/:traceId`), or none for a 404. */
  request(method: string, route: string | undefined, status: number, durationMs: number): void {
    this.#requests.observe({ method, route: route ?? 'unmatched', status: String(status) }, durationMs / 1000);
  }

  forwardSent(): void {
    this.#forwardSent.inc();
  }

  forwardDropped(reason: ForwardDropReason, batches = 1): void {
    this.#forwardDropped.inc({ reason }, batches);
  }

  forwardRetried(): void {
    this.#forwardRetries.inc();
  }

  forwardQueue(batches: number, bytes: number): void {
    this.#forwardQueueBatches.set(batches);
    this.#forwardQueueBytes.set(bytes);
  }

  /** An assembly round stored its changes. */
  flowRound(round: { spans: number; flows: number; sharedKeys: number; problems: number }): void {
    this.#flowRounds.inc();
    this.#flowSpans.inc(round.spans);
    this.#flowsWritten.inc(round.flows);
    this.#sharedKeys.inc(round.sharedKeys);
    this.#spanProblems.inc(round.problems);
  }

  flowRoundFailed(): void {
    this.#flowRoundFailures.inc();
  }

  flowWorkingSet(flows: number): void {
    this.#flowWorkingSet.set(flows);
  }

  /** How /metrics counts flows by state (the store, at scrape time). */
  countFlowStatesWith(count: CountByLabel): void {
    this.#flowStates.countWith(count);
  }

  /** How /metrics counts firing alerts by severity (the store, at scrape time). */
  countAlertsFiringWith(count: CountByLabel): void {
    this.#alertsFiring.countWith(count);
  }

  /** A notification settled: delivered, given up (failed), or held back by a silence. */
  alertNotification(receiver: string, outcome: 'delivered' | 'failed' | 'silenced'): void {
    this.#notifications.inc({ receiver, outcome });
  }

  /** How far behind assembly is, as the assembling collector last measured it. */
  flowBacklog(backlog: { spans: number; oldestWaitMs: number }): void {
    this.#backlogSpans.set(backlog.spans);
    this.#backlogSeconds.set(backlog.oldestWaitMs / 1000);
  }

  flowAssembler(assembling: boolean): void {
    this.#assembling.set(assembling ? 1 : 0);
  }

  /** The Prometheus text exposition of this server's metrics and the process's. */
  async render(): Promise<{ contentType: string; text: string }> {
    if (processRegistry === undefined) {
      processRegistry = new Registry();
      collectDefaultMetrics({ register: processRegistry });
    }
    const [own, process] = await Promise.all([this.registry.metrics(), processRegistry.metrics()]);
    return { contentType: this.registry.contentType, text: `${own}\n${process}` };
  }

  #counter(name: string, help: string, labelNames: string[] = []): Counter {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }
}
