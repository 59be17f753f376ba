/**
 * What the store keeps of flows, in two parts: the reads the API makes (any collector), and the session
 * flow assembly writes through (one collector per database at a time). Plain data in and out;
 * flow-tables.ts holds the statements, the same for PGlite and PostgreSQL.
 */
import type { QuietConsumer } from '../core/alert-subjects.ts';
import type { Alert } from '../core/alerts.ts';
import type { CatalogDelta, CatalogEntry } from '../core/catalog.ts';
import type { AnomalyType, FlowFacts, FlowId } from '../core/flow.ts';
import type { StoredModel } from '../core/model.ts';
import type { BusinessKey, SpanId, SpanRecord, TraceId } from '../core/span.ts';
import type { Explanation, FlowState } from '../core/stalls.ts';
import type { NotificationOwed, StoredAlertState } from './alert-store.ts';
import type { FlowStats } from './flow-stats.ts';
import type { LiveChange } from './live-channel.ts';

/** Where a flow stands (core/stalls.ts), as stored beside its facts. */
export interface FlowStanding {
  state: FlowState;
  /** Why it is late, stalled or failed; null otherwise. */
  explanation: Explanation | null;
  expectedCompletionMs: number | null;
}

/** A flow as lists answer it: its facts and where it stands. */
export type StoredFlow = FlowFacts & FlowStanding;

/** A stored span with the flow the store has it in (null: in none yet, or a batch span). */
export interface StoredSpan {
  record: SpanRecord;
  flowId: FlowId | null;
}

/** Where a flow sits in a list newest activity first: its last event time, then its id. */
export interface FlowPosition {
  lastEventMs: number;
  flowId: FlowId;
}

/** Every filter given must hold. */
export interface FlowSearch {
  /** Only these flows (an alert's), whatever else holds. */
  flowIds?: readonly FlowId[];
  businessKey?: BusinessKey;
  traceId?: TraceId;
  service?: string;
  eventType?: string;
  anomaly?: AnomalyType;
  state?: FlowState;
  /** Flows active at or after this (their last event), epoch milliseconds. */
  activeFromMs?: number;
  /** Flows active before this (their first event). */
  activeBeforeMs?: number;
  /** Only flows strictly after this position, newest activity first. */
  after?: FlowPosition;
  limit: number;
}

export interface FlowPage {
  flows: StoredFlow[];
  next: FlowPosition | null;
}

/** A flow's spans as stored: the earliest `limit` by start time, and how many it has in all. */
export interface FlowSpans {
  spans: SpanRecord[];
  total: number;
}

/** Where trace context was lost, per consuming service and topic. */
export interface PropagationGapSummary {
  service: string;
  destination: string | null;
  /** Deliveries that lost their context. */
  lostHops: number;
  flows: number;
  /** How those deliveries were matched instead. */
  matchedBy: { message: number; key: number; none: number };
  /** The most recently active flow with such a gap. */
  exampleFlowId: FlowId;
  lastSeenMs: number;
}

export interface FlowReads {
  /** The flow holding the span, or null when it is in none (not stored, not assembled yet, or a batch span). */
  flowOfSpan(traceId: TraceId, spanId: SpanId): Promise<FlowId | null>;
  flowSpans(flowId: FlowId, limit: number): Promise<FlowSpans>;
  /** Where the flow stands, as last judged; null when it is not stored. */
  standingOf(flowId: FlowId): Promise<FlowStanding | null>;
  /** Flows active since `sinceMs` (their last event), by state. */
  countByState(sinceMs: number): Promise<Partial<Record<FlowState, number>>>;
  /** The learned choreography as last saved; null before any was. */
  storedModel(): Promise<{ model: StoredModel; savedAtMs: number } | null>;
  searchFlows(search: FlowSearch): Promise<FlowPage>;
  /** Of these keys, those found shared (joining nothing). */
  sharedKeys(keys: readonly BusinessKey[]): Promise<BusinessKey[]>;
  /** Lost context per service and topic, in flows active from `sinceMs`, most lost first. */
  propagationGaps(sinceMs: number, limit: number): Promise<PropagationGapSummary[]>;
  /** Flows active in [startMs, endMs): by state, how long the ended ones took, and the step funnel (flow-stats.ts). */
  flowStats(startMs: number, endMs: number): Promise<FlowStats>;
  /** Every catalogue entry, and the events produced per event type and topic since `sinceMs`. */
  catalog(sinceMs: number): Promise<{ entries: CatalogEntry[]; producedSince: { eventType: string; destination: string; produced: number }[] }>;
}

/** Committed groups' spans waiting to be assembled. */
export interface InboxBatch {
  /** The inbox rows taken; delete them with the write that stores what their spans made. */
  ids: string[];
  /** Their spans: none assembled yet, since the write that assembles them deletes their rows. */
  spans: SpanRecord[];
}

/** Told, after each commit, which inbox row holds which newly stored spans: the assembler need not read them back. */
export type QueuedListener = (inboxId: string, spans: readonly SpanRecord[]) => void;

/** A flow as the flow tables hold it, described. */
export interface FlowRow {
  facts: FlowFacts;
  standing: FlowStanding;
  gaps: { service: string; destination: string | null; joinedBy: string | null }[];
  recheckAtMs: number | null;
}

/** What one round of assembly stores, in one transaction. */
export interface FlowWrite {
  /** Inbox rows now assembled. */
  inboxIds: string[];
  /** Flow ids that name no flow any more (merged, renamed). */
  removed: FlowId[];
  flows: FlowRow[];
  /** Spans whose flow is new or changed. */
  members: { traceId: TraceId; spanId: SpanId; flowId: FlowId }[];
  /** Kafka messages ('m:…') and business keys ('k:…') of those spans, with the flow now holding them. */
  points: { point: string; flowId: FlowId }[];
  /** Keys found shared: they hold no flow any more. */
  sharedKeys: BusinessKey[];
  /** References left waiting, and spans whose references wait no more (core/assemble.ts, FlowChanges). */
  waiting: { target: string; referrer: string }[];
  resolved: string[];
  /** Batch spans that arrived. */
  batchSpans: { traceId: TraceId; spanId: SpanId }[];
  /** The catalogue's counts for spans placed in a flow for the first time. */
  catalog: CatalogDelta;
  /** Flows whose stored facts are out of date until described: describe them again from `describeAtMs`. */
  deferred: { flowIds: FlowId[]; describeAtMs: number };
  /**
   * Event types whose step the model now sees otherwise (trusted at last, learned as an end): the flows
   * stored late or stalled waiting after one are judged again at the next round, not at their old deadline.
   */
  recheckStuckAfter: string[];
  /** Forget catalogue minutes before this (epoch ms); null: keep them this round. */
  pruneRatesBeforeMs: number | null;
  /** The learned choreography to save this round; null: not this round. */
  model: StoredModel | null;
  /** Alerts that fired, changed or resolved this round, and the notifications they owe. */
  alerts: Alert[];
  notifications: NotificationOwed[];
  /** What the live feed announces when this commits (live-channel.ts); null: nothing. */
  live: LiveChange | null;
  nowMs: number;
}

/** A write that changes nothing, to fill in: what a round with only alerts or the model to store writes. */
export function emptyFlowWrite(nowMs: number): FlowWrite {
  return {
    inboxIds: [], removed: [], flows: [], members: [], points: [], sharedKeys: [], waiting: [], resolved: [], batchSpans: [],
    catalog: { entries: [], minutes: [] }, deferred: { flowIds: [], describeAtMs: nowMs }, recheckStuckAfter: [], pruneRatesBeforeMs: null, model: null,
    alerts: [], notifications: [], live: null, nowMs,
  };
}

/** The lookups of core/flow-lookups.ts, answered: the stored flows to load. */
export interface LookupResult {
  /** Flows holding a named span, a span waiting for a new one, a looked-up Kafka message or key. */
  flowIds: FlowId[];
  /** Looked-up keys found shared. */
  sharedKeys: BusinessKey[];
  /** Named spans that are batch spans: the assembler takes them in, so what names them joins nothing. */
  batchSpans: SpanRecord[];
}

/**
 * The assembler's access to the flow tables. On PostgreSQL it holds a session-level advisory lock on a
 * connection of its own, and writes through that connection: one collector assembles at a time, and one
 * that lost its connection (and so its lock) can write nothing more.
 */
/** How far behind assembly is: what ingest committed that no round has stored as flows yet. */
export interface FlowBacklog {
  spans: number;
  /** Since the oldest of them was committed, by the database's clock; 0 when none waits. */
  oldestWaitMs: number;
}

export interface AssemblySession {
  /**
   * The oldest inbox rows, up to about `maxSpans` spans (at least one row). A row `handedOver` knows the
   * records of (this process committed them) is not read back.
   */
  takeInbox(maxSpans: number, handedOver: (inboxId: string) => readonly SpanRecord[] | undefined): Promise<InboxBatch>;
  lookup(lookups: { spans: string[]; referrersOf: string[]; messages: string[]; keys: BusinessKey[] }): Promise<LookupResult>;
  /** Every span of these flows, and which of their keys are shared. */
  loadFlows(flowIds: readonly FlowId[]): Promise<{ spans: StoredSpan[]; sharedKeys: BusinessKey[] }>;
  /** The learned choreography as last saved, to go on learning from; null before any was. */
  loadModel(): Promise<StoredModel | null>;
  /** Spans committed and not yet assembled, and how long the oldest of them has waited. */
  backlog(): Promise<FlowBacklog>;
  /** The firing alerts, and the flows stored as stalled or failed with activity since `stuckSinceMs`. */
  loadAlerts(stuckSinceMs: number): Promise<StoredAlertState>;
  /** Consumer groups last seen handling an event in [seenSinceMs, quietBeforeMs), with what was sent since (topology drift). */
  quietConsumers(quietBeforeMs: number, seenSinceMs: number): Promise<QuietConsumer[]>;
  /**
   * Flows to describe again by now (their recheck time passed). `reload`: retention deleted spans of it
   * (the store marks it due at 0), so a copy held in memory is out of date.
   */
  dueRechecks(nowMs: number, limit: number): Promise<{ flowId: FlowId; reload: boolean }[]>;
  write(write: FlowWrite): Promise<void>;
  /** Lets go of the lock and the connection. */
  release(): Promise<void>;
}

export interface FlowStore extends FlowReads {
  /** Listens to the spans this process's commits queue for assembly; returns what stops listening. */
  onQueued(listener: QueuedListener): () => void;
  /**
   * The right to assemble, when this collector may have it now: always on PGlite (one process per data
   * directory), on PostgreSQL when no other collector holds it. Null when another does.
   */
  openAssembly(): Promise<AssemblySession | null>;
}
