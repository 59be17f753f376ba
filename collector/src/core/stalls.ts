/**
 * Where a flow stands, given its progress, the learned model and now: running, late, stalled, completed,
 * failed or compensated, with what it waits for when it is late or stalled ("waiting for
 * PaymentAuthorized from payment since 12:03:04, usually within 800 ms"), and when it is expected to
 * complete. Pure: the caller passes `nowMs`, and learns when the verdict can next change (`nextCheckMs`),
 * so detection looks at a flow again only then.
 */
import type { FlowProgress } from './flow-progress.ts';
import type { ChoreographyModel, LatencySummary } from './model.ts';

export type FlowState = 'running' | 'late' | 'stalled' | 'completed' | 'failed' | 'compensated';

export const FLOW_STATES: readonly FlowState[] = ['running', 'late', 'stalled', 'completed', 'failed', 'compensated'];

export interface StallOptions {
  /** Late once an awaited step took its learned p99 × this. Default 1.5. */
  lateFactor?: number;
  /** Stalled once it took its learned p99 × this. Default 3. */
  stallFactor?: number;
  /** Until a step is trusted (model.ts, minSamples), late after this; stalled after it × stallFactor / lateFactor. Default 60_000. */
  defaultDeadlineMs?: number;
  /**
   * Added to every deadline: how late spans reach the collector and are assembled (export schedules,
   * the assembly backlog), so a step whose spans are still on their way is not called late. Default 0.
   */
  observationDelayMs?: number;
}

export const DEFAULT_LATE_FACTOR = 1.5;
export const DEFAULT_STALL_FACTOR = 3;
export const DEFAULT_DEADLINE_MS = 60_000;

/** A step the flow waits for, past its deadline. */
export interface WaitExplanation {
  kind: 'consumer' | 'next-event';
  /** The event whose consumer, or whose next event, is awaited. */
  afterEventType: string;
  afterService: string | null;
  /** consumer: the event itself; next-event: the events that may come next, most likely first. */
  awaitedEventTypes: string[];
  /** The service expected to act: the consumer group's, or the usual sender of the likeliest next event. */
  awaitedService: string | null;
  /** The awaited consumer group (kind consumer). */
  consumerGroup: string | null;
  /** When the event was sent: the wait started then. */
  sinceMs: number;
  /** The step's learned latency; null figures when it is not learned yet (`learned` false). */
  usual: LatencySummary;
  learned: boolean;
  /** When the flow became late for this step, and how far past that it is now. */
  lateAtMs: number;
  overdueMs: number;
  message: string;
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
}

interface Wait {
  explanation: Omit<WaitExplanation, 'overdueMs' | 'message'>;
  stalledAtMs: number;
}

export function judgeFlow(progress: FlowProgress, model: ChoreographyModel, nowMs: number, options: StallOptions = {}): FlowVerdict {
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

  const deadlines = (sinceMs: number, usual: LatencySummary, learned: boolean) => {
    const p99 = learned ? usual.p99Ms : null;
    return p99 === null
      ? { lateAtMs: sinceMs + defaultDeadlineMs + observationDelayMs, stalledAtMs: sinceMs + defaultDeadlineMs * (stallFactor / lateFactor) + observationDelayMs }
      : { lateAtMs: sinceMs + p99 * lateFactor + observationDelayMs, stalledAtMs: sinceMs + p99 * stallFactor + observationDelayMs };
  };

  const sent = new Map(progress.events.map((event) => [event.eventType, event]));
  const handled = new Set(progress.consumptions.map((c) => `${c.eventType}\u0000${c.group}`));
  const followed = new Set(progress.transitions.map((t) => t.from));
  const waits: Wait[] = [];
  let terminal: { kind: 'completed' | 'compensated'; atMs: number } | null = null;
  for (const event of progress.events) {
    const expected = model.expectationsAfter(event.eventType, nowMs);
    for (const consumer of expected.consumers) {
      if (handled.has(`${event.eventType}\u0000${consumer.group}`)) continue;
      const learned = expected.trusted && consumer.wait.p99Ms !== null;
      const { lateAtMs, stalledAtMs } = deadlines(event.atMs, consumer.wait, learned);
      waits.push({
        explanation: {
          kind: 'consumer', afterEventType: event.eventType, afterService: event.service, awaitedEventTypes: [event.eventType],
          awaitedService: consumer.service, consumerGroup: consumer.group, sinceMs: event.atMs, usual: consumer.wait, learned, lateAtMs,
        },
        stalledAtMs,
      });
    }
    if (expected.terminal !== null) {
      if (terminal === null || event.atMs >= terminal.atMs) terminal = { kind: expected.terminal, atMs: event.atMs };
      continue;
    }
    if (followed.has(event.eventType)) continue;
    // a next event present without its step hop (the context was lost on the way) still counts as followed
    const candidates = expected.next?.candidates ?? [];
    if (candidates.some((c) => (sent.get(c.eventType)?.atMs ?? -Infinity) >= event.atMs)) continue;
    if (expected.trusted && expected.next === null) continue; // flows often end here without being terminal: nothing is owed
    const usual = expected.next?.latency ?? { count: 0, p50Ms: null, p90Ms: null, p99Ms: null };
    const learned = expected.trusted && usual.p99Ms !== null;
    const { lateAtMs, stalledAtMs } = deadlines(event.atMs, usual, learned);
    waits.push({
      explanation: {
        kind: 'next-event', afterEventType: event.eventType, afterService: event.service,
        awaitedEventTypes: candidates.map((c) => c.eventType), awaitedService: candidates[0]?.service ?? null, consumerGroup: null,
        sinceMs: event.atMs, usual, learned, lateAtMs,
      },
      stalledAtMs,
    });
  }

  const expectedCompletionMs = terminal === null ? expectedCompletion(progress, model, nowMs) : null;
  if (waits.length === 0) {
    return { state: terminal?.kind ?? 'running', explanation: null, expectedCompletionMs, nextCheckMs: null };
  }
  // the step that has been overdue longest explains the flow
  const stalled = waits.filter((w) => w.stalledAtMs <= nowMs);
  const late = waits.filter((w) => w.explanation.lateAtMs <= nowMs);
  const worst = (list: Wait[]) => list.reduce((a, b) => (b.explanation.lateAtMs < a.explanation.lateAtMs ? b : a));
  const upcoming = waits.flatMap((w) => [w.explanation.lateAtMs, w.stalledAtMs]).filter((at) => at > nowMs);
  const nextCheckMs = upcoming.length > 0 ? Math.min(...upcoming) : null;
  if (late.length === 0) return { state: 'running', explanation: null, expectedCompletionMs, nextCheckMs };
  const chosen = worst(stalled.length > 0 ? stalled : late);
  const overdueMs = nowMs - chosen.explanation.lateAtMs;
  return {
    state: stalled.length > 0 ? 'stalled' : 'late',
    explanation: { ...chosen.explanation, overdueMs, message: waitMessage(chosen.explanation, overdueMs) },
    expectedCompletionMs,
    nextCheckMs,
  };
}

/** Following the likeliest next event from the latest event, summing the usual (median) latencies until a terminal event. */
function expectedCompletion(progress: FlowProgress, model: ChoreographyModel, nowMs: number): number | null {
  const latest = progress.events.at(-1);
  if (latest === undefined) return null;
  let atMs = latest.atMs;
  let eventType = latest.eventType;
  const seen = new Set<string>([eventType]);
  for (let steps = 0; steps < 32; steps += 1) {
    const expected = model.expectationsAfter(eventType, nowMs);
    if (expected.terminal !== null) return atMs;
    const next = expected.next?.candidates[0];
    if (!expected.trusted || next === undefined || seen.has(next.eventType)) return null;
    const median = model.medianLatency(eventType, next.eventType, nowMs);
    if (median === null) return null;
    atMs += median;
    eventType = next.eventType;
    seen.add(eventType);
  }
  return null;
}

function waitMessage(wait: Omit<WaitExplanation, 'overdueMs' | 'message'>, overdueMs: number): string {
  const who = wait.kind === 'consumer'
    ? `${wait.afterEventType} to be handled by ${wait.awaitedService ?? 'its consumer'} (group ${wait.consumerGroup})`
    : `${wait.awaitedEventTypes.length === 0 ? 'the next event' : wait.awaitedEventTypes.slice(0, 3).join(' or ')}${wait.awaitedService === null ? '' : ` from ${wait.awaitedService}`}`;
  const usual = wait.learned && wait.usual.p99Ms !== null ? `usually within ${duration(wait.usual.p99Ms)}` : 'not learned yet, default deadline';
  return `waiting for ${who} since ${iso(wait.sinceMs)}, ${usual}; ${duration(overdueMs)} overdue`;
}

function duration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1_000).toFixed(1)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

const iso = (ms: number) => new Date(ms).toISOString();
