/**
 * Where a flow stands, given its progress, the learned model and now: running, late, stalled, completed,
 * failed or compensated, with what it waits for when it is late or stalled ("waiting for
 * PaymentAuthorized from payment since 12:03:04, usually within 800 ms"), and when it is expected to
 * complete. Pure: the caller passes `nowMs`, and learns when the verdict can next change (`nextCheckMs`),
 * so detection looks at a flow again only then.
 */
import type { EventOccurrence, FlowProgress } from './flow-progress.ts';
import type { ConsumerExpectation, Expectations, LatencySummary, ModelView, TerminalKind } from './model.ts';
import { placeOf } from './partition-progress.ts';

export type FlowState = 'running' | 'late' | 'stalled' | 'completed' | 'failed' | 'compensated';

export const FLOW_STATES: readonly FlowState[] = ['running', 'late', 'stalled', 'completed', 'failed', 'compensated'];

export interface StallOptions {
  /** Late once an awaited step took its learned p99 × this: slower than nearly all its peers. Default 1. */
  lateFactor?: number;
  /**
   * Stalled once it took its learned p99.9 × this (and never before it is late). The far tail
   * rather than a fixed multiple of the p99: a step with a long but healthy tail is waited out as long as
   * its own slow flows take, a steady one is called stuck soon after its p99. Default 1.75 (bench/stalls.bench.ts:
   * precision over 0.99 on a choreography with long-tailed steps, where 1.5 gave 0.98).
   */
  stallFactor?: number;
  /** Until a step is trusted (model.ts, minSamples), late after this, stalled after twice this. Default 60_000. */
  defaultDeadlineMs?: number;
  /**
   * Added to every deadline: how late spans reach the collector and are assembled (export schedules,
   * the assembly backlog), so a step whose spans are still on their way is not called late. Default 0.
   */
  observationDelayMs?: number;
  /** Steps whose deadlines are declared (the configuration file): they replace what is learned, and apply before it is. */
  steps?: readonly DeclaredStep[];
}

/**
 * A step declared with its deadlines: after `afterEventType`, the consumer group `consumerGroup` handles
 * it, or (consumerGroup null) one of `expect` follows it. Declared, the step is awaited whatever the model
 * learned (a group never seen yet included), and late and stalled at the deadlines given.
 */
export interface DeclaredStep {
  afterEventType: string;
  consumerGroup: string | null;
  /** The events that may follow (next-event steps); empty: whatever the model learned. */
  expect: readonly string[];
  lateAfterMs: number;
  stalledAfterMs: number;
}

export const DEFAULT_LATE_FACTOR = 1;
export const DEFAULT_STALL_FACTOR = 1.75;
export const DEFAULT_DEADLINE_MS = 60_000;

/** A step the flow waits for, past its deadline. */
export interface WaitExplanation {
  kind: 'consumer' | 'next-event';
  /** The event whose consumer, or whose next event, is awaited. */
  afterEventType: string;
  afterService: string | null;
  /** consumer: the event itself; next-event: the events that may come next, most likely first. */
  awaitedEventTypes: string[];
  /**
   * The service expected to act: the consumer group's, the usual sender of the likeliest next event, or
   * (a handling that ended without sending) the handling's.
   */
  awaitedService: string | null;
  /** The awaited consumer group (kind consumer), or the one whose handling ended without sending; null otherwise. */
  consumerGroup: string | null;
  /** When the event was sent: the wait started then. */
  sinceMs: number;
  /** The step's learned latency; null figures when it is not learned yet (`learned` false). */
  usual: LatencySummary;
  learned: boolean;
  /** Its deadlines were declared (DeclaredStep), not learned nor the default. */
  declared: boolean;
  /** When the flow became late for this step, and how far past that it was when judged (the API gives it as of the request). */
  lateAtMs: number;
  overdueMs: number;
  /**
   * Next-event: a consumer group that always sends (model.ts, awaitsSend) finished handling the event
   * without sending anything. Evidence, not a deadline: the flow is stalled from then (plus the time spans
   * take to arrive), however long the step's tail. Null otherwise.
   */
  handledWithoutSending: SilentEnd | null;
  /**
   * Consumer: the group, reading its partitions in order, handled a later message of the awaited one's
   * partition and not it (core/partition-progress.ts). Evidence too: stalled from then (plus the time
   * spans take to arrive). Null (or absent, in what was stored before it existed) otherwise.
   */
  passedOver?: PassedOver | null;
  message: string;
}

/** A later message of the awaited one's partition that its consumer group handled: the group went past the awaited one. */
export interface PassedOver {
  consumerGroup: string;
  topic: string;
  partition: string;
  /** The awaited message's offset, and the later one's (decimal digits: offsets may pass 2^53). */
  offset: string;
  laterOffset: string;
  /** When the group began handling the later message. */
  laterAtMs: number;
}

/** A message a flow waits for a consumer group to handle, from a group that reads in order: a later handling of its partition changes the verdict. */
export interface AwaitedMessage {
  group: string;
  /** `topic/partition/offset` (flow-span.ts). */
  message: string;
  /** When it was sent: a later handling begun before it proves nothing. */
  sentAtMs: number;
}

/** A handling that ended without sending, by a group that always sends. */
export interface SilentEnd {
  consumerGroup: string;
  service: string;
  /** When its successful handling ended. */
  atMs: number;
  /** The share of its handlings that send (ConsumerExpectation.sendShare). */
  sendShare: number;
}

/** A step that failed with no successful retry. */
export interface FailureExplanation {
  kind: 'failure';
  service: string;
  eventType: string | null;
  consumerGroup: string | null;
  sinceMs: number;
  message: string;
}

export type Explanation = WaitExplanation | FailureExplanation;

export interface FlowVerdict {
  state: FlowState;
  /** Why it is late, stalled or failed; null otherwise. */
  explanation: Explanation | null;
  /** When the flow should reach its end, following the likeliest path from where it is; null when it has ended or nothing is learned. */
  expectedCompletionMs: number | null;
  /** When the verdict changes by time alone (the next deadline); null when only new spans can change it. */
  nextCheckMs: number | null;
  /**
   * Messages awaited of groups that read in order, with no later handling known yet: one seen (in any
   * flow) may make the flow stalled at once (PartitionProgress.await). Absent: none.
   */
  awaiting?: AwaitedMessage[];
}

/** The flow's verdict as of `model.nowMs` (ChoreographyModel.view). */
export function judgeFlow(progress: FlowProgress, model: ModelView, options: StallOptions = {}): FlowVerdict {
  const nowMs = model.nowMs;
  const lateFactor = options.lateFactor ?? DEFAULT_LATE_FACTOR;
  const stallFactor = options.stallFactor ?? DEFAULT_STALL_FACTOR;
  const defaultDeadlineMs = options.defaultDeadlineMs ?? DEFAULT_DEADLINE_MS;
  const observationDelayMs = options.observationDelayMs ?? 0;

  if (progress.failure !== null) {
    const f = progress.failure;
    const what = f.group === null
      ? `${f.service} failed to send ${f.eventType ?? 'an event'}`
      : `${f.service} (group ${f.group}) failed handling ${f.eventType ?? 'an event'}`;
    return {
      state: 'failed',
      explanation: {
        kind: 'failure', service: f.service, eventType: f.eventType, consumerGroup: f.group, sinceMs: f.atMs,
        message: `${what} at ${iso(f.atMs)}, with no successful retry`,
      },
      expectedCompletionMs: null,
      nextCheckMs: null,
    };
  }

  const settings: Settings = { lateFactor, stallFactor, defaultDeadlineMs, observationDelayMs };
  const declaredSteps = indexed(options.steps);
  // each awaited step's deadlines; the explanation is written for the one chosen only (a pass judges many flows)
  const judged: Judged = { chosen: null, chosenStalled: false, anyWait: false, nextCheckMs: Infinity, awaiting: [] };
  let terminal: TerminalKind | null = null;
  let terminalAtMs = -Infinity;
  const events = progress.events;
  for (const event of events) {
    const expected = model.expectationsAfter(event.eventType);
    const declared = declaredSteps?.get(event.eventType);
    // the usual sender of what follows, and whether its group has not reported handling the event yet
    const sender = expected.next?.candidates[0]?.service ?? null;
    let senderUnseen = false;
    for (const consumer of awaitedConsumers(expected, declared)) {
      if (wasHandled(progress, event.eventType, consumer.group)) continue;
      if (sender !== null && consumer.service === sender) senderUnseen = true;
      const wait = waitFor('consumer', event, expected, consumer.due ?? consumer.wait, consumer, settings, declared?.get(consumer.group) ?? null);
      const passed = passedOver(event, consumer.group, model);
      // with no later handling yet, one seen in another flow's spans must look at this flow again
      if (passed === null && event.message != null && model.readsInOrder?.(consumer.group, event.message) === true) {
        judged.awaiting.push({ group: consumer.group, message: event.message, sentAtMs: event.atMs });
      }
      consider(judged, passed === null ? wait : withPassedOver(wait, passed, settings), nowMs);
    }
    if (expected.terminal !== null) {
      if (event.atMs >= terminalAtMs) [terminal, terminalAtMs] = [expected.terminal, event.atMs];
      continue;
    }
    const declaredNext = declared?.get(NEXT_EVENT) ?? null;
    // owed: nothing followed yet, and flows go on from here (some end here without it being terminal: then
    // nothing is owed, unless declared)
    const owed = !wasFollowed(progress, event, expected, declaredNext) && !(expected.trusted && !expected.nextAwaited && declaredNext === null);
    // a group that always sends and ended without sending is stuck, whatever else followed the event (fan-out)
    const silent = silentEnd(progress, event, expected);
    if (!owed && silent === null) continue;
    // the usual sender's group has not reported handling it: that is the step waited on, said as such
    // (a span reports when it ends, so its wait runs to the handling's usual end), not its next event too
    if (silent === null && senderUnseen && declaredNext === null) continue;
    const wait = waitFor('next-event', event, expected, expected.next?.latency ?? NOT_LEARNED, null, settings, declaredNext);
    consider(judged, silent === null ? wait : withSilentEnd(wait, silent, settings, owed), nowMs);
  }

  const expectedCompletionMs = terminal === null ? expectedCompletion(progress, model) : null;
  const { chosen, chosenStalled, anyWait } = judged;
  let nextCheckMs = judged.nextCheckMs;
  // a verdict on a step not learned yet is judged again as the model learns, less often the longer it stands
  if (chosen !== null && !chosen.learned && chosen.declared === null) nextCheckMs = Math.min(nextCheckMs, nowMs + Math.max(defaultDeadlineMs, nowMs - chosen.event.atMs));
  const next = Number.isFinite(nextCheckMs) ? nextCheckMs : null;
  const awaiting = judged.awaiting.length > 0 ? { awaiting: judged.awaiting } : {};
  if (!anyWait) return { state: terminal ?? 'running', explanation: null, expectedCompletionMs, nextCheckMs: null };
  if (chosen === null) return { state: 'running', explanation: null, expectedCompletionMs, nextCheckMs: next, ...awaiting };
  return { state: chosenStalled ? 'stalled' : 'late', explanation: explain(chosen, nowMs), expectedCompletionMs, nextCheckMs: next, ...awaiting };
}

interface Settings {
  lateFactor: number;
  stallFactor: number;
  defaultDeadlineMs: number;
  observationDelayMs: number;
}

/** An awaited step and its deadlines. */
interface Wait {
  kind: 'consumer' | 'next-event';
  event: EventOccurrence;
  expected: Expectations;
  usual: LatencySummary;
  consumer: ConsumerExpectation | null;
  learned: boolean;
  /** The declared step whose deadlines apply; null: learned or default ones. */
  declared: DeclaredStep | null;
  lateAtMs: number;
  stalledAtMs: number;
  silentEnd?: SilentEnd;
  passedOver?: PassedOver;
}

const NOT_LEARNED: LatencySummary = { count: 0, p50Ms: null, p90Ms: null, p99Ms: null, p999Ms: null };
/** The key of a declared next-event step among an event's declared steps (a consumer group's is its name). */
const NEXT_EVENT = '\u0000next';

/** Declared steps by event type, then consumer group (or NEXT_EVENT); built once per list given. */
type DeclaredIndex = Map<string, Map<string, DeclaredStep>>;
const indexes = new WeakMap<readonly DeclaredStep[], DeclaredIndex>();

function indexed(steps: readonly DeclaredStep[] | undefined): DeclaredIndex | undefined {
  if (steps === undefined || steps.length === 0) return undefined;
  let index = indexes.get(steps);
  if (index === undefined) {
    index = new Map();
    for (const step of steps) {
      const byGroup = index.get(step.afterEventType) ?? new Map<string, DeclaredStep>();
      byGroup.set(step.consumerGroup ?? NEXT_EVENT, step);
      index.set(step.afterEventType, byGroup);
    }
    indexes.set(steps, index);
  }
  return index;
}

/** The consumer groups awaited for an event: those the model expects, and those declared (seen or not). */
function awaitedConsumers(expected: Expectations, declared: Map<string, DeclaredStep> | undefined): readonly ConsumerExpectation[] {
  if (declared === undefined) return expected.consumers;
  const consumers = [...expected.consumers];
  for (const group of declared.keys()) {
    if (group === NEXT_EVENT || consumers.some((consumer) => consumer.group === group)) continue;
    consumers.push({ group, service: null, probability: 1, wait: NOT_LEARNED });
  }
  return consumers;
}

function waitFor(
  kind: Wait['kind'], event: EventOccurrence, expected: Expectations, usual: LatencySummary, consumer: ConsumerExpectation | null, settings: Settings,
  declared: DeclaredStep | null,
): Wait {
  const learned = expected.trusted && usual.p99Ms !== null;
  const sinceMs = event.atMs + settings.observationDelayMs;
  if (declared !== null) {
    const lateAtMs = sinceMs + declared.lateAfterMs;
    return { kind, event, expected, usual, consumer, learned, declared, lateAtMs, stalledAtMs: Math.max(lateAtMs, sinceMs + declared.stalledAfterMs) };
  }
  if (!learned) {
    const lateAtMs = sinceMs + settings.defaultDeadlineMs;
    return { kind, event, expected, usual, consumer, learned, declared, lateAtMs, stalledAtMs: lateAtMs + settings.defaultDeadlineMs };
  }
  const p99 = usual.p99Ms!;
  const lateAfterMs = p99 * settings.lateFactor;
  return {
    kind, event, expected, usual, consumer, learned, declared,
    lateAtMs: sinceMs + lateAfterMs,
    stalledAtMs: sinceMs + Math.max(lateAfterMs, (usual.p999Ms ?? p99) * settings.stallFactor),
  };
}

/**
 * The handling of `event` that ended without sending, by a group that always sends (the earliest, if
 * several): the flow is stuck there, not slow. Not one when its service sent another event since all the
 * same (from outside the handling's span, this once). Null when no such handling is known.
 */
function silentEnd(progress: FlowProgress, event: EventOccurrence, expected: Expectations): SilentEnd | null {
  let found: SilentEnd | null = null;
  for (const consumer of expected.consumers) {
    if (consumer.awaitsSend !== true) continue;
    for (const c of progress.consumptions) {
      if (c.eventType !== event.eventType || c.group !== consumer.group || !c.succeeded || c.sentNext !== false) continue;
      if (c.doneAtMs === null || c.doneAtMs === undefined) continue;
      if (progress.events.some((other) => other.service === c.service && other.eventType !== event.eventType && other.atMs >= event.atMs)) continue;
      if (found === null || c.doneAtMs < found.atMs) found = { consumerGroup: c.group, service: c.service, atMs: c.doneAtMs, sendShare: consumer.sendShare ?? 1 };
    }
  }
  return found;
}

/**
 * The wait with a silent end: stalled (and so late) once the silent end is observed, or at its own
 * deadlines if they come first and the next event is `owed`; when it is not (another group's event
 * followed), the silent end alone makes the wait.
 */
function withSilentEnd(wait: Wait, silent: SilentEnd, settings: Settings, owed: boolean): Wait {
  const atMs = silent.atMs + settings.observationDelayMs;
  return {
    ...wait, silentEnd: silent,
    lateAtMs: owed ? Math.min(wait.lateAtMs, atMs) : atMs,
    stalledAtMs: owed ? Math.min(wait.stalledAtMs, atMs) : atMs,
  };
}

/**
 * A later message of the partition of `event`'s message, handled by `group` (a group that reads in order,
 * ModelView.laterHandling) after the event was sent; null when none is known.
 */
function passedOver(event: EventOccurrence, group: string, model: ModelView): PassedOver | null {
  if (event.message == null || model.laterHandling === undefined) return null;
  const later = model.laterHandling(group, event.message, event.atMs);
  const place = placeOf(event.message);
  if (later === null || place === null) return null;
  const slash = place.partition.lastIndexOf('/');
  return {
    consumerGroup: group, topic: place.partition.slice(0, slash), partition: place.partition.slice(slash + 1),
    offset: place.offset, laterOffset: later.offset, laterAtMs: later.startMs,
  };
}

/** The consumer wait with a later message handled: stalled (and so late) once that handling is observed, if its own deadlines do not come first. */
function withPassedOver(wait: Wait, passed: PassedOver, settings: Settings): Wait {
  const atMs = passed.laterAtMs + settings.observationDelayMs;
  return { ...wait, passedOver: passed, lateAtMs: Math.min(wait.lateAtMs, atMs), stalledAtMs: Math.min(wait.stalledAtMs, atMs) };
}

/** The awaited steps seen so far: the one that explains the flow (stalled before late, then the longest overdue), and the next deadline. */
interface Judged {
  chosen: Wait | null;
  chosenStalled: boolean;
  anyWait: boolean;
  nextCheckMs: number;
  awaiting: AwaitedMessage[];
}

function consider(judged: Judged, wait: Wait, nowMs: number): void {
  judged.anyWait = true;
  judged.nextCheckMs = Math.min(judged.nextCheckMs, upcoming(wait, nowMs));
  if (wait.lateAtMs > nowMs) return;
  const stalled = wait.stalledAtMs <= nowMs;
  const chosen = judged.chosen;
  if (chosen === null || (stalled && !judged.chosenStalled) || (stalled === judged.chosenStalled && wait.lateAtMs < chosen.lateAtMs)) {
    judged.chosen = wait;
    judged.chosenStalled = stalled;
  }
}

/** The next deadline of the wait still ahead of `nowMs`, else Infinity. */
function upcoming(wait: Wait, nowMs: number): number {
  if (wait.lateAtMs > nowMs) return wait.lateAtMs;
  return wait.stalledAtMs > nowMs ? wait.stalledAtMs : Infinity;
}

function wasHandled(progress: FlowProgress, eventType: string, group: string): boolean {
  for (const c of progress.consumptions) if (c.eventType === eventType && c.group === group) return true;
  return false;
}

/** A next event was sent: by a step from it, or (the context lost on the way) one of its usual next events sent after it. */
function wasFollowed(progress: FlowProgress, event: EventOccurrence, expected: Expectations, declared: DeclaredStep | null): boolean {
  for (const t of progress.transitions) if (t.from === event.eventType) return true;
  for (const candidate of expected.next?.candidates ?? []) if (sentSince(progress, candidate.eventType, event.atMs)) return true;
  for (const follower of declared?.expect ?? []) if (sentSince(progress, follower, event.atMs)) return true;
  return false;
}

function sentSince(progress: FlowProgress, eventType: string, atMs: number): boolean {
  for (const other of progress.events) if (other.eventType === eventType && other.atMs >= atMs) return true;
  return false;
}

function explain(wait: Wait, nowMs: number): WaitExplanation {
  const allCandidates = wait.expected.next?.candidates ?? [];
  // a silent end waits for what its own service sends, when the model knows it
  const own = wait.silentEnd === undefined ? [] : allCandidates.filter((c) => c.service === wait.silentEnd!.service);
  const candidates = own.length > 0 ? own : allCandidates;
  const declared = wait.declared !== null;
  // what the configuration says may follow, where the model knows nothing yet
  const awaited = candidates.length > 0 ? candidates.map((c) => c.eventType) : [...(wait.declared?.expect ?? [])];
  const explanation: Omit<WaitExplanation, 'overdueMs' | 'message'> = wait.kind === 'consumer'
    ? {
      kind: 'consumer', afterEventType: wait.event.eventType, afterService: wait.event.service, awaitedEventTypes: [wait.event.eventType],
      awaitedService: wait.consumer!.service, consumerGroup: wait.consumer!.group, sinceMs: wait.event.atMs, usual: wait.usual, learned: wait.learned,
      declared, lateAtMs: wait.lateAtMs, handledWithoutSending: null, passedOver: wait.passedOver ?? null,
    }
    : {
      kind: 'next-event', afterEventType: wait.event.eventType, afterService: wait.event.service,
      awaitedEventTypes: awaited, awaitedService: wait.silentEnd?.service ?? candidates[0]?.service ?? null, consumerGroup: wait.silentEnd?.consumerGroup ?? null,
      sinceMs: wait.event.atMs, usual: wait.usual, learned: wait.learned, declared, lateAtMs: wait.lateAtMs, handledWithoutSending: wait.silentEnd ?? null,
      passedOver: null,
    };
  const overdueMs = nowMs - wait.lateAtMs;
  return { ...explanation, overdueMs, message: waitMessage(explanation, wait.declared) };
}

/** Following the likeliest next event from the latest event, summing the usual (median) latencies until a terminal event. */
function expectedCompletion(progress: FlowProgress, model: ModelView): number | null {
  const latest = progress.events.at(-1);
  if (latest === undefined) return null;
  let atMs = latest.atMs;
  let eventType = latest.eventType;
  const seen = new Set<string>([eventType]);
  for (let steps = 0; steps < 32; steps += 1) {
    const expected = model.expectationsAfter(eventType);
    if (expected.terminal !== null) return atMs;
    const next = expected.next?.candidates[0];
    if (!expected.trusted || next === undefined || seen.has(next.eventType)) return null;
    const median = model.medianLatency(eventType, next.eventType);
    if (median === null) return null;
    atMs += median;
    eventType = next.eventType;
    seen.add(eventType);
  }
  return null;
}

/** Said once and stored: nothing in it changes with time (how overdue it is does: `overdueMs`, from `lateAtMs`). */
function waitMessage(wait: Omit<WaitExplanation, 'overdueMs' | 'message'>, declared: DeclaredStep | null): string {
  const who = wait.kind === 'consumer'
    ? `${wait.afterEventType} to be handled by ${wait.awaitedService ?? 'its consumer'} (group ${wait.consumerGroup})`
    : `${wait.awaitedEventTypes.length === 0 ? 'the next event' : wait.awaitedEventTypes.slice(0, 3).join(' or ')}${wait.awaitedService === null ? '' : ` from ${wait.awaitedService}`}`;
  let usual = wait.learned && wait.usual.p99Ms !== null ? `usually within ${duration(wait.usual.p99Ms)}` : 'not learned yet, default deadline';
  if (declared !== null) usual = `due within ${duration(declared.lateAfterMs)} as configured${wait.learned && wait.usual.p99Ms !== null ? `, ${usual}` : ''}`;
  const silent = wait.handledWithoutSending;
  if (silent !== null) {
    const share = silent.sendShare >= 0.99995 ? 'all' : `${(silent.sendShare * 100).toFixed(2)} %`;
    return `waiting for ${who} since ${iso(wait.sinceMs)}: ${silent.service} (group ${silent.consumerGroup}) finished handling ${wait.afterEventType} ` +
      `${duration(Math.max(0, silent.atMs - wait.sinceMs))} later without sending it, though it sent one after ${share} of its handlings until now`;
  }
  const passed = wait.passedOver ?? null;
  if (passed !== null) {
    return `waiting for ${who} since ${iso(wait.sinceMs)}: the group went past it, handling a later message of ${passed.topic} partition ${passed.partition} ` +
      `(offset ${passed.laterOffset}, at ${iso(passed.laterAtMs)}) but not this one (offset ${passed.offset})`;
  }
  return `waiting for ${who} since ${iso(wait.sinceMs)}, ${usual}`;
}

function duration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1_000).toFixed(1)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

const iso = (ms: number) => new Date(ms).toISOString();
