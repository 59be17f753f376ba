/**
 * The flow worker: runs the pure assembler (core/assemble.ts) over the spans the store commits. Each
 * round takes committed groups from the inbox (their records handed over in memory when this process
 * committed them), loads the stored flows they touch, adds the spans, describes the flows that changed
 * (each at most every `describeEveryMs`), and writes flows, members, points and waiting references in
 * the transaction that deletes those inbox rows: what ingest acknowledged is assembled exactly once,
 * across kills and restarts. Rounds also describe again the flows whose description changes with time
 * (orphans, deadlines). Each flow described is judged against the learned model (core/stalls.ts) and
 * observed by the alert book (core/alerts.ts), whose changes and owed notifications go in the same
 * transaction, announced to the live feed when it commits.
 *
 * One collector per database assembles (the store's assembly session); the others only ingest, and
 * try to take over every `lockRetryMs`. Ingest wakes the worker after each commit, so a flow answers
 * within a round of its span's acknowledgement; spans other collectors commit are found by polling.
 */
import { AlertBook, driftSubjects, subjectsOf, type AlertChanges, type AlertOptions } from '../core/alerts.ts';
import { FlowAssembler, type AssembledFlow, type AssemblerOptions, type FlowChanges } from '../core/assemble.ts';
import { MAX_BUSINESS_KEY_CHARS } from '../core/business-key.ts';
import { catalogDelta } from '../core/catalog.ts';
import { describeFlow, type DescribeOptions } from '../core/describe-flow.ts';
import { lookupsFor } from '../core/flow-lookups.ts';
import { flowProgress, type FlowProgress } from '../core/flow-progress.ts';
import { ChoreographyModel, type ModelOptions, type ModelView, type StoredModel } from '../core/model.ts';
import { PartitionProgress, type PartitionProgressOptions } from '../core/partition-progress.ts';
import { judgeFlow, type StallOptions } from '../core/stalls.ts';
import { toFlowSpan, type FlowSpan } from '../core/flow-span.ts';
import type { SpanRecord } from '../core/span.ts';
import type { CollectorMetrics } from '../ops/metrics.ts';
import { emptyFlowWrite, type AssemblySession, type FlowBacklog, type FlowRow, type FlowStore, type FlowWrite, type StoredSpan } from '../store/flow-store.ts';
import { keyPoint, messagePoint } from '../store/flow-tables.ts';
import type { LiveChange } from '../store/live-channel.ts';

export interface FlowWorkerOptions extends AssemblerOptions, DescribeOptions {
  /** Spans taken from the inbox per round, about (whole committed groups). Default 5_000. */
  maxSpansPerRound?: number;
  /** How often the inbox is looked at when no local commit wakes the worker. Default 200. */
  pollIntervalMs?: number;
  /** How often a collector that does not assemble tries to take over. Default 1_000. */
  lockRetryMs?: number;
  /**
   * Flows untouched this long leave the working set; the store keeps them, and a span touching one loads
   * it back (as tracing backends keep a live trace only briefly after its last span). Default 60_000.
   */
  residentIdleMs?: number;
  /**
   * Flows held in memory at most; past it the least recently touched leave (the store keeps them, and
   * loads them back when a span touches them). About 4 KB each for a flow of six spans
   * (docs/benchmarks.md). Default 100_000.
   */
  maxResidentFlows?: number;
  /**
   * A changed flow's facts (what lists and filters read) are stored again at most this often; a flow's own
   * page (GET /api/flows/:flowId) is described when asked, and membership is stored every round. Default 250.
   */
  describeEveryMs?: number;
  /** How the choreography is learned (core/model.ts). */
  model?: ModelOptions;
  /** Where consumer groups have got in their partitions, and when a group is taken to read in order (core/partition-progress.ts). */
  partitions?: PartitionProgressOptions;
  /** When a flow is late or stalled (core/stalls.ts); its observation delay is `exportDelayMs` and the backlog's. */
  stalls?: Omit<StallOptions, 'observationDelayMs'>;
  /**
   * A flow quiet this long has settled: the model learns from it then (or as soon as it completes), once.
   * Default 300_000 (5 minutes).
   */
  settleAfterMs?: number;
  /**
   * The learned model is saved to the store, in a round's transaction, at most this often, and when the
   * worker stops. Default 5_000: a model of ten event types is some 100 KB, too much for every round under
   * load; a kill loses at most these seconds of samples (their flows are not learned again), which moves no
   * quantile worth speaking of.
   */
  saveModelEveryMs?: number;
  /**
   * How late spans reach the collector after they end (export schedules: the OpenTelemetry SDK's batch
   * processor sends every 5 s by default); the assembly backlog's wait is added to it. Every deadline moves
   * by it, so a step whose spans are on their way is not called late. Default 10_000.
   */
  exportDelayMs?: number;
  /** How stuck flows make alerts (core/alerts.ts). */
  alerts?: AlertOptions;
  /**
   * Topology drift: a consumer group that handled an event type, and not for `quietAfterMs` while
   * `minProduced` of its events were sent, has disappeared (an alert with no flows). One not heard of for
   * `retiredAfterMs` is taken as retired on purpose: the choreography is relearned without it, and its
   * alert resolves. Looked for every 30 s. Defaults 600_000 (10 minutes), 20 and 604_800_000 (7 days).
   */
  drift?: { quietAfterMs?: number; minProduced?: number; retiredAfterMs?: number };
  /** Who is owed alert notifications and delivers them; none: alerts are kept and shown, not sent. */
  notifier?: AlertNotifier;
  /** Wait after a failed round (the store unavailable) before the next. Default 1_000. */
  retryAfterFailureMs?: number;
  metrics?: CollectorMetrics;
  log?: WorkerLog;
  now?: () => number;
}

/**
 * Delivery of alert notifications (alerting/alert-delivery.ts), as the worker sees it: the rounds store
 * what is owed, and only the collector that assembles delivers it, so two never send the same.
 */
export interface AlertNotifier {
  /** The receivers (their receiverId) each notification is owed to. */
  readonly receivers: readonly string[];
  /** This collector starts (true) or stops (false) assembling: deliver the outbox, or stop. */
  assembling(active: boolean): void;
  /** A round stored notifications. */
  owed(): void;
}

export interface WorkerLog {
  warn(details: object, message: string): void;
  info(details: object, message: string): void;
}

/** What a round did, for tests and metrics. */
export interface RoundOutcome {
  inboxRows: number;
  spansAdded: number;
  flowsWritten: number;
  rechecked: number;
}

export class FlowWorker {
  readonly #store: FlowStore;
  readonly #assembler: FlowAssembler;
  readonly #options: FlowWorkerOptions;
  readonly #now: () => number;
  #session: AssemblySession | null = null;
  #running: Promise<void> | null = null;
  #closed = false;
  #woken = false;
  #wakeUp: (() => void) | null = null;
  #lastFailure: string | null = null;
  #ratesPrunedAtMs = 0;
  #evictedAtMs = 0;
  #backlogMeasuredAtMs = 0;
  /** How long the oldest span not yet assembled had waited, when last measured. */
  #backlogWaitMs = 0;
  /** Records this process committed, by inbox row, while it assembles: rounds need not read them back. */
  readonly #handedOver = new Map<string, readonly SpanRecord[]>();
  #handedOverSpans = 0;
  #stopListening: (() => void) | null = null;
  /** Points this worker wrote, with their flow: while it assembles, the store has them so. */
  readonly #writtenPoints = new Map<string, string>();
  /** The learned choreography, read from the store when this worker starts assembling. */
  #model: ChoreographyModel | null = null;
  /** Where each group has got in each partition, from the consumer spans assembled (memory only: a restart starts it again). */
  readonly #partitions: PartitionProgress;
  #modelChanged = false;
  #modelSavedAtMs = 0;
  /** Flows the model learned from while this worker assembled, not learned again by it (memory only: a restart forgets). */
  readonly #learned = new Set<string>();
  /** Event types whose step the model came to see otherwise this round (stepSignature): their stuck flows are judged again. */
  readonly #stepsChanged = new Set<string>();
  /** The model's view for the round under way. */
  #view: ModelView | null = null;
  /** The alerts, from the store's firing alerts and stuck flows when this worker starts assembling. */
  #book: AlertBook | null = null;
  /** When consumer groups were last looked at for drift; 0: at the next round. */
  #driftCheckedAtMs = 0;

  constructor(store: FlowStore, options: FlowWorkerOptions = {}) {
    this.#store = store;
    this.#options = options;
    this.#assembler = new FlowAssembler(options);
    this.#partitions = new PartitionProgress(options.partitions);
    this.#now = options.now ?? Date.now;
  }

  start(): void {
    this.#stopListening ??= this.#store.onQueued((inboxId, spans) => {
      // kept only while this collector assembles, and within a bound: past it, rounds read from the store
      if (this.#session === null || this.#handedOverSpans + spans.length > MAX_HANDED_OVER_SPANS) return;
      this.#handedOver.set(inboxId, spans);
      this.#handedOverSpans += spans.length;
    });
    this.#running ??= this.#run();
  }

  /** Spans were committed: run a round soon. */
  wake(): void {
    this.#woken = true;
    this.#wakeUp?.();
  }

  /** Finishes the round under way, lets go of the session, and stops. */
  async close(): Promise<void> {
    this.#closed = true;
    this.wake();
    await this.#running;
    this.#stopListening?.();
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      // PGlite answers in microtasks: without a turn of the event loop between rounds, ingest and the API would wait
      await new Promise<void>((resolve) => setImmediate(resolve));
      try {
        if (this.#session === null) {
          this.#session = await this.#store.openAssembly();
          this.#options.metrics?.flowAssembler(this.#session !== null);
          if (this.#session === null) {
            await this.#sleep(this.#options.lockRetryMs ?? 1_000);
            continue;
          }
          this.#options.log?.info({}, 'this collector assembles flows');
          this.#options.notifier?.assembling(true);
        }
        const outcome = await this.round(this.#session);
        this.#recovered();
        // flows due but held back by describeEveryMs are not work done: the next poll finds them
        if (outcome.inboxRows === 0 && outcome.flowsWritten === 0) await this.#sleep(this.#options.pollIntervalMs ?? 200);
      } catch (error) {
        this.#failed(error as Error);
        await this.#letGo();
        await this.#sleep(this.#options.retryAfterFailureMs ?? 1_000);
      }
    }
    // what describeEveryMs held back is described now rather than left to the next start
    if (this.#session !== null) await this.round(this.#session, true).catch((error: Error) => this.#failed(error));
    await this.#letGo();
  }

  /**
   * One round: the next inbox rows and the flows due to be described again, assembled and stored.
   * `flush`: describe every changed flow now, whatever describeEveryMs says (the last round before stopping).
   */
  async round(session: AssemblySession, flush = false): Promise<RoundOutcome> {
    const nowMs = this.#now();
    if (this.#model === null) {
      const stored = await session.loadModel();
      this.#model = stored === null ? new ChoreographyModel(this.#options.model) : ChoreographyModel.fromJSON(stored, this.#options.model);
    }
    this.#view = this.#model.view(nowMs, this.#partitions);
    this.#book ??= await this.#loadAlerts(session, nowMs);
    if (nowMs - this.#driftCheckedAtMs >= DRIFT_CHECK_EVERY_MS) await this.#checkDrift(session, this.#book, nowMs);
    const inbox = await session.takeInbox(this.#options.maxSpansPerRound ?? 5_000, (inboxId) => this.#handedOver.get(inboxId));
    const dueRows = await session.dueRechecks(nowMs, 1_000);
    const due = dueRows.map((row) => row.flowId);
    // retention deleted spans of these: the copies held are out of date, the store's are not
    for (const row of dueRows) if (row.reload) this.#assembler.forgetFlow(row.flowId);
    if (inbox.ids.length === 0 && due.length === 0 && !this.#assembler.describing) {
      await this.#measureBacklog(session, nowMs, true);
      // alerts resolve by time alone, and the model learned in a round too soon after its last save waits: both
      // are stored when no flow changed
      const idle = { ...emptyFlowWrite(nowMs), model: this.#modelToSave(nowMs, false), ...this.#alertWrite(this.#book.evaluate(nowMs)) };
      if (idle.model !== null || idle.alerts.length > 0) await this.#commit(session, idle);
      return { inboxRows: 0, spansAdded: 0, flowsWritten: 0, rechecked: 0 };
    }

    const assembler = this.#assembler;
    const fresh = inbox.spans.map(toFlowSpan);
    // every handling of a message tells where its group has got in the partition, whichever flow it is in
    for (const span of fresh) {
      if (span.role === 'consumer' && span.message !== null) this.#partitions.observe(span.consumerGroup ?? span.serviceName, span.message, span.startMs, span.endMs);
    }
    const found = await session.lookup(lookupsFor(fresh, assembler));
    const toLoad = new Set([...found.flowIds, ...due]);
    const loaded = await session.loadFlows([...toLoad].filter((flowId) => assembler.flowOf(flowId) === undefined));
    try {
      const batchSpans = found.batchSpans.map((record) => ({ span: toFlowSpan(record), flowId: null }));
      assembler.load([...loaded.spans.map(toStored), ...batchSpans], [...found.sharedKeys, ...loaded.sharedKeys], nowMs);
      const added = assembler.add(fresh, nowMs);
      for (const problem of added.problems) this.#options.log?.info({ span: problem.spanKey }, `span not joined as it says: ${problem.problem}`);
      // a due row that names no resident flow (absorbed, or its spans gone) would be due for ever: it goes
      const stale = due.filter((flowId) => !assembler.touch(flowId));
      const describeEveryMs = flush ? 0 : this.#options.describeEveryMs ?? 250;
      const changes = assembler.takeChanges(nowMs, describeEveryMs);
      changes.removed.push(...stale.filter((flowId) => !changes.removed.includes(flowId)));
      const records = new Map<string, SpanRecord>();
      inbox.spans.forEach((record, i) => records.set(fresh[i]!.key, record));
      const write = this.#toWrite(changes, inbox.ids, records, nowMs, describeEveryMs, flush);
      await this.#commit(session, write);
      for (const inboxId of inbox.ids) this.#forgetHandedOver(inboxId);
      if (this.#writtenPoints.size > MAX_WRITTEN_POINTS) this.#writtenPoints.clear(); // then written again once
      for (const { point, flowId } of write.points) this.#writtenPoints.set(point, flowId);
      this.#options.metrics?.flowRound({
        spans: added.added.length, flows: write.flows.length, sharedKeys: changes.sharedKeys.length, problems: added.problems.length,
      });
      // a look over the working set at most once a second; every round when nothing may stay
      const residentIdleMs = this.#options.residentIdleMs ?? 60_000;
      if (residentIdleMs === 0 || nowMs - this.#evictedAtMs >= 1_000) {
        this.#evictedAtMs = nowMs;
        assembler.evictIdle(nowMs - residentIdleMs, this.#options.maxResidentFlows ?? 100_000);
      }
      this.#options.metrics?.flowWorkingSet(assembler.stats.flows);
      await this.#measureBacklog(session, nowMs, inbox.ids.length === 0);
      return { inboxRows: inbox.ids.length, spansAdded: added.added.length, flowsWritten: write.flows.length, rechecked: due.length };
    } catch (error) {
      assembler.clear(); // the store did not take the changes: it is the truth, load from it again
      this.#writtenPoints.clear();
      this.#forgetModel();
      this.#book = null;
      throw error;
    }
  }

  #toWrite(
    changes: FlowChanges, inboxIds: string[], records: ReadonlyMap<string, SpanRecord>, nowMs: number, describeEveryMs: number, flush: boolean,
  ): FlowWrite {
    // a point is written when the flow holding it changed, not again for every span carrying it
    const points = new Map<string, string>();
    const point = (name: string, flowId: string) => {
      if (this.#writtenPoints.get(name) !== flowId) points.set(name, flowId);
    };
    for (const { span, flowId } of changes.moved) {
      // every carrier's: a consumer's parent or link may be a poll, or never arrive, and only the message ties it
      if (span.message !== null) point(messagePoint(span.message), flowId);
      const key = span.businessKey;
      if (key !== null && key.length <= MAX_BUSINESS_KEY_CHARS && !this.#assembler.isShared(key)) point(keyPoint(key), flowId);
    }
    const flows = changes.flows.map((flow) => this.#describe(flow, nowMs));
    for (const flowId of changes.removed) this.#book!.forget(flowId, nowMs);
    return {
      inboxIds,
      removed: changes.removed,
      flows,
      members: changes.moved.map(({ span, flowId }) => ({ traceId: span.traceId, spanId: span.spanId, flowId })),
      points: [...points].map(([point, flowId]) => ({ point, flowId })),
      sharedKeys: changes.sharedKeys,
      waiting: changes.waiting,
      resolved: changes.resolved,
      batchSpans: changes.batchSpans.map((span) => ({ traceId: span.traceId, spanId: span.spanId })),
      // counted once: when a span is placed in its first flow, in the transaction that places it
      catalog: catalogDelta(changes.moved.filter((moved) => moved.first).map(({ span }) => ({
        span, attributeKeys: Object.keys(records.get(span.key)?.attributes ?? {}),
      }))),
      // flows whose awaited message a group went past (seen in this round's spans) are judged again
      deferred: { flowIds: [...changes.deferred, ...this.#partitions.takeWoken()], describeAtMs: nowMs + describeEveryMs },
      recheckStuckAfter: this.#takeStepsChanged(),
      pruneRatesBeforeMs: this.#pruneRates(nowMs),
      model: this.#modelToSave(nowMs, flush),
      ...this.#alertWrite(this.#book!.evaluate(nowMs)),
      live: null,
      nowMs,
    };
  }

  /** Writes the round, announcing what it changed to the live feed; once it committed, the notifications it owes are delivered. */
  async #commit(session: AssemblySession, write: FlowWrite): Promise<void> {
    write.live = liveChange(write);
    await session.write(write);
    if (write.notifications.length > 0) this.#options.notifier?.owed();
  }

  /** What evaluating the alerts changed, as the round writes it: each notification owed to every receiver. */
  #alertWrite(changes: AlertChanges): Pick<FlowWrite, 'alerts' | 'notifications'> {
    const receivers = this.#options.notifier?.receivers ?? [];
    return { alerts: changes.alerts, notifications: changes.notifications.map((notification) => ({ notification, receivers: [...receivers] })) };
  }

  /**
   * The alert book as the store has it: the alerts that were firing go on (none fires twice across a
   * restart or a takeover), and the flows stored as stuck join them again.
   */
  async #loadAlerts(session: AssemblySession, nowMs: number): Promise<AlertBook> {
    const book = new AlertBook(this.#options.alerts);
    const windowMs = Math.max(this.#options.alerts?.maxStuckMs ?? 86_400_000, this.#options.alerts?.failedWindowMs ?? 900_000);
    const stored = await session.loadAlerts(nowMs - windowMs);
    book.restore(stored.firing, nowMs);
    // their anomalies are not stored as such: an anomaly's alert waits out its window (AlertBook.restore)
    for (const flow of stored.stuck) book.observe(flow.flowId, subjectsOf(flow.state, flow.explanation, [], nowMs), nowMs);
    this.#driftCheckedAtMs = 0; // a restored drift alert is confirmed (or let go) at once
    return book;
  }

  /** Consumer groups gone quiet while their events go on: each an alert while it lasts (core/alert-subjects.ts, driftSubjects). */
  async #checkDrift(session: AssemblySession, book: AlertBook, nowMs: number): Promise<void> {
    this.#driftCheckedAtMs = nowMs;
    const quietAfterMs = this.#options.drift?.quietAfterMs ?? 600_000;
    const quiet = await session.quietConsumers(nowMs - quietAfterMs, nowMs - (this.#options.drift?.retiredAfterMs ?? 7 * 86_400_000));
    const gone = driftSubjects(quiet, this.#options.drift?.minProduced ?? 20);
    const goneKeys = new Set(gone.map((subject) => subject.key));
    for (const subject of book.conditions()) if (!goneKeys.has(subject.key)) book.condition(subject, false, nowMs);
    for (const subject of gone) book.condition(subject, true, nowMs);
  }

  /** The model, when it learned something and was last saved long enough ago (or the worker stops). */
  #modelToSave(nowMs: number, flush: boolean): StoredModel | null {
    if (this.#model === null || !this.#modelChanged) return null;
    if (!flush && nowMs - this.#modelSavedAtMs < (this.#options.saveModelEveryMs ?? 5_000)) return null;
    this.#modelChanged = false;
    this.#modelSavedAtMs = nowMs;
    return this.#model.toJSON();
  }

  /** Forgets what was learned since the last save that the store took: the store's copy is the one to go on from. */
  #forgetModel(): void {
    this.#model = null;
    this.#modelChanged = false;
    this.#learned.clear();
  }

  /**
   * The backlog, for its metrics and for stall detection: nothing waits when a round found the inbox
   * empty; otherwise it is measured at most once a second (counting the inbox is a scan, and a long one
   * when assembly is far behind).
   */
  async #measureBacklog(session: AssemblySession, nowMs: number, inboxEmpty: boolean): Promise<void> {
    let backlog: FlowBacklog;
    if (inboxEmpty) {
      backlog = { spans: 0, oldestWaitMs: 0 };
    } else if (nowMs - this.#backlogMeasuredAtMs >= 1_000) {
      this.#backlogMeasuredAtMs = nowMs;
      backlog = await session.backlog();
    } else {
      return;
    }
    this.#backlogWaitMs = backlog.oldestWaitMs; // stall detection allows for it
    this.#options.metrics?.flowBacklog(backlog);
  }

  /** A day of catalogue minutes is kept; older ones go, at most once a minute. */
  #pruneRates(nowMs: number): number | null {
    if (nowMs - this.#ratesPrunedAtMs < 60_000) return null;
    this.#ratesPrunedAtMs = nowMs;
    return nowMs - 86_400_000;
  }

  /**
   * A flow's facts and where it stands. Judged against the learned model; learned from once it completes or
   * settles. It is described again at its next deadline (its recheck time, kept in the store), so a flow
   * goes late and stalled on time whichever collector assembles, and after a restart.
   */
  #describe(flow: AssembledFlow, nowMs: number): FlowRow {
    const spans = flow.spans();
    const described = describeFlow(flow.id, spans, nowMs, { ...this.#options, isSharedKey: (key) => this.#assembler.isShared(key) });
    const gaps = described.anomalies.flatMap((anomaly) =>
      anomaly.type === 'propagation-gap' ? [{ service: anomaly.service, destination: anomaly.destination, joinedBy: anomaly.joinedBy }] : []);
    const progress = flowProgress(described.spans, described.found);
    const stalls = { ...this.#options.stalls, observationDelayMs: this.#observationDelayMs() };
    let verdict = judgeFlow(progress, this.#view!, stalls);
    const ended = verdict.state === 'completed' || verdict.state === 'compensated' || verdict.state === 'failed';
    // settled by the collector's view: its spans would have arrived by now
    const settleAtMs = progress.lastActivityMs + (this.#options.settleAfterMs ?? 300_000) + stalls.observationDelayMs;
    let settleRecheck: number | null = null;
    if (!this.#learned.has(flow.id)) {
      if (ended || nowMs >= settleAtMs) {
        const explanation = verdict.explanation;
        const stuck = (verdict.state === 'late' || verdict.state === 'stalled') && explanation !== null && explanation.kind !== 'failure' && explanation.learned;
        this.#learn(flow.id, progress, nowMs, stuck ? explanation.afterEventType : null);
        verdict = judgeFlow(progress, this.#view!, stalls); // as the model now stands, itself included
      } else {
        settleRecheck = settleAtMs;
      }
    }
    this.#book!.observe(flow.id, subjectsOf(verdict.state, verdict.explanation, described.anomalies, described.facts.lastEventMs), nowMs);
    for (const { group, message, sentAtMs } of verdict.awaiting ?? []) this.#partitions.await(flow.id, group, message, sentAtMs);
    return {
      facts: described.facts,
      standing: { state: verdict.state, explanation: verdict.explanation, expectedCompletionMs: verdict.expectedCompletionMs },
      gaps,
      recheckAtMs: earliest(described.recheckAtMs, verdict.nextCheckMs, settleRecheck),
    };
  }

  #learn(flowId: string, progress: FlowProgress, nowMs: number, stuckAfter: string | null): void {
    if (this.#learned.size >= MAX_LEARNED_REMEMBERED) this.#learned.clear(); // flows that old do not come back
    this.#learned.add(flowId);
    // a flow judged by the default deadline after an event not yet trusted, or not yet known as an end, was
    // given a distant next look: when what it waits after changes, it is looked at again now
    const eventTypes = [...new Set(progress.events.map((event) => event.eventType))];
    const before = eventTypes.map((eventType) => stepSignature(this.#view!, eventType));
    this.#model!.learn(progress, nowMs, stuckAfter);
    this.#view = this.#model!.view(nowMs, this.#partitions); // the round's later judgements see what was just learned
    eventTypes.forEach((eventType, i) => {
      if (stepSignature(this.#view!, eventType) !== before[i]) this.#stepsChanged.add(eventType);
    });
    this.#modelChanged = true;
  }

  #takeStepsChanged(): string[] {
    const changed = [...this.#stepsChanged];
    this.#stepsChanged.clear();
    return changed;
  }

  /** How late the spans of a step may still arrive: the export schedule, and how far assembly is behind. */
  #observationDelayMs(): number {
    return (this.#options.exportDelayMs ?? 10_000) + this.#backlogWaitMs;
  }

  #forgetHandedOver(inboxId: string): void {
    const spans = this.#handedOver.get(inboxId);
    if (spans === undefined) return;
    this.#handedOver.delete(inboxId);
    this.#handedOverSpans -= spans.length;
  }

  async #letGo(): Promise<void> {
    const session = this.#session;
    this.#session = null;
    this.#handedOver.clear();
    this.#handedOverSpans = 0;
    this.#writtenPoints.clear();
    this.#assembler.clear();
    this.#forgetModel();
    this.#book = null;
    this.#options.notifier?.assembling(false);
    this.#options.metrics?.flowAssembler(false);
    await session?.release().catch(() => {});
  }

  #failed(error: Error): void {
    this.#options.metrics?.flowRoundFailed();
    // said once per kind of failure, not every retry
    if (error.message !== this.#lastFailure) this.#options.log?.warn({ err: error }, 'flow assembly failed; it will retry');
    this.#lastFailure = error.message;
  }

  #recovered(): void {
    if (this.#lastFailure !== null) this.#options.log?.info({}, 'flow assembly recovered');
    this.#lastFailure = null;
  }

  /** Waits `ms`, or less when woken (a commit, or close). */
  async #sleep(ms: number): Promise<void> {
    if (this.#woken || this.#closed) {
      this.#woken = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wakeUp = done;
    });
    this.#wakeUp = null;
    this.#woken = false;
  }
}

/** What a flow waiting after `eventType` is judged by: whether its step is trusted, an end, owed a next event. */
function stepSignature(view: ModelView, eventType: string): string {
  const expected = view.expectationsAfter(eventType);
  return `${expected.trusted} ${expected.terminal} ${expected.nextAwaited}`;
}

/** How often consumer groups are looked at for drift. */
const DRIFT_CHECK_EVERY_MS = 30_000;

/** Flows remembered as learned from, at most; a flow learned before and touched again after that is learned again. */
const MAX_LEARNED_REMEMBERED = 200_000;

/** The earliest of the times given, null when none is. */
function earliest(...times: (number | null)[]): number | null {
  let min: number | null = null;
  for (const time of times) if (time !== null && (min === null || time < min)) min = time;
  return min;
}

/** Points remembered as written, at most; past it they are forgotten and written again when next touched. */
const MAX_WRITTEN_POINTS = 200_000;
/** Records kept for the assembler between a commit and the round that takes its inbox row, at most. */
const MAX_HANDED_OVER_SPANS = 100_000;

/** What a round changed, as the live feed tells of it: flows written or gone, alerts changed, events newly seen on each edge. */
function liveChange(write: FlowWrite): LiveChange | null {
  if (write.flows.length === 0 && write.removed.length === 0 && write.alerts.length === 0 && write.catalog.entries.length === 0) return null;
  return {
    atMs: write.nowMs,
    flows: write.flows.map(({ facts, standing }) => ({
      flowId: facts.flowId, state: standing.state, lastEventMs: facts.lastEventMs, spanCount: facts.spanCount, eventTypes: facts.eventTypes,
    })),
    removed: write.removed,
    alerts: write.alerts.flatMap((alert) => (alert.state === 'pending' ? [] : [{
      id: alert.id, state: alert.state, severity: alert.severity, title: alert.title, flowCount: alert.flowCount,
    }])),
    traffic: write.catalog.entries.map(({ eventType, destination, role, service, consumerGroup, spans }) => ({ eventType, destination, role, service, consumerGroup, spans })),
  };
}

function toStored(stored: StoredSpan): { span: FlowSpan; flowId: string | null } {
  return { span: toFlowSpan(stored.record), flowId: stored.flowId };
}
