/**
 * The learned choreography: for each event type, who sends it, which consumer groups handle it and how
 * long it waits for them, which events follow it (branches included) with their probability and
 * latency, and whether flows end there (a terminal event, and whether such endings are the main path or a
 * compensation). Learned online from flows that have settled, each once; it forgets by windows of time
 * (latency-sketch.ts), so a changed topology is relearned. Pure: `nowMs` is passed in.
 */
import type { FlowProgress } from './flow-progress.ts';
import { LatencySketch, WindowedCount, type StoredCount, type StoredSketch } from './latency-sketch.ts';
import type { LaterHandling, PartitionProgress } from './partition-progress.ts';

/** How a flow that ends at a terminal event ended. */
export type TerminalKind = 'completed' | 'compensated';

export interface ModelOptions {
  /** Occurrences an event type needs before what was learned of it is trusted; before, defaults apply. Default 20. */
  minSamples?: number;
  /** A consumer group that handles an event at least this often is awaited for it. Default 0.9. */
  expectProbability?: number;
  /** The model answers from the current and previous window of this length. Default 3_600_000 (an hour). */
  windowMs?: number;
  /** Event types declared terminal, and how flows ending there ended; they need no learning. */
  terminals?: Readonly<Record<string, TerminalKind>>;
  /**
   * A consumer group that sent an event from inside at least this share of its successful handlings of an
   * event type, over at least `sendEvidenceMinSamples` of them, always sends: one of its handlings that
   * ends without sending has stalled its flow, whatever the step's deadline (stalls.ts). Default 0.999.
   */
  sendEvidenceShare?: number;
  /**
   * Default 1000: below, a share of 1 is too few handlings to say a silent end is never normal. Counted
   * like everything the model knows, over its current and previous window (one to two hours by default).
   */
  sendEvidenceMinSamples?: number;
}

export const DEFAULT_MIN_SAMPLES = 20;
export const DEFAULT_EXPECT_PROBABILITY = 0.9;
export const DEFAULT_MODEL_WINDOW_MS = 3_600_000;
export const DEFAULT_SEND_EVIDENCE_SHARE = 0.999;
export const DEFAULT_SEND_EVIDENCE_MIN_SAMPLES = 1_000;

/** A latency distribution as answered: how many samples and the usual figures. */
export interface LatencySummary {
  count: number;
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  /** The far tail, what stall detection waits out: a step slower than this is rare enough to call stuck. */
  p999Ms: number | null;
}

export interface ConsumerExpectation {
  group: string;
  /** The group's service; null for a group declared (stalls.ts, DeclaredStep) and never seen. */
  service: string | null;
  /** Of the event's occurrences, the share this group handled. */
  probability: number;
  /** From the event sent to the group's first attempt starting. */
  wait: LatencySummary;
  /**
   * What a flow waits out before calling the group late: from the event sent to its first attempt
   * ending, when its span can first be known (a handling is seen when it ends, so a slow handler is not a
   * missing one); the `wait` alone until that is learned (a model stored before it was). Absent for a group
   * declared and never seen.
   */
  due?: LatencySummary;
  /**
   * Of its successful handlings, the share that sent an event from inside (its span the send's parent or
   * link); null before any was seen. Absent for a group declared and never seen.
   */
  sendShare?: number | null;
  /** It always sends (ModelOptions.sendEvidenceShare, over enough handlings): a handling that ends without sending is a stall. */
  awaitsSend?: boolean;
}

export interface NextExpectation {
  /** The events that follow, most likely first, with the share of occurrences each followed. */
  candidates: { eventType: string; service: string | null; probability: number }[];
  /** From the event sent to the first of them sent. */
  latency: LatencySummary;
}

/** What normally happens after an event type, as far as the model knows. */
export interface Expectations {
  eventType: string;
  /** Enough occurrences seen to trust the rest; when false, only `terminal` (if declared) is to be relied on. */
  trusted: boolean;
  occurrences: number;
  consumers: ConsumerExpectation[];
  /** Null when flows normally end here (or nothing was ever seen to follow). */
  next: NextExpectation | null;
  /** Flows nearly always go on from here (expectProbability): one of `next` is owed. */
  nextAwaited: boolean;
  terminal: TerminalKind | null;
}

/** One event type as GET /api/model shows it. */
export interface ModelStep {
  eventType: string;
  producers: { service: string; count: number }[];
  occurrences: number;
  /** Enough occurrences to trust what follows; before, the default deadline applies. */
  trusted: boolean;
  terminal: TerminalKind | null;
  /** `awaited`: handled often enough (expectProbability) that a flow waits for it. */
  /** `handling`: how long a successful handling takes; `attempts` and `failedAttempts`: deliveries to the group, and those that failed. */
  consumers: {
    group: string; service: string; count: number; probability: number; awaited: boolean; wait: LatencySummary;
    /** From the event sent to the group's first attempt ending. */
    untilHandled: LatencySummary;
    handling: LatencySummary; attempts: number; failedAttempts: number;
    /** Successful handlings seen whole, and those that sent an event from inside; `awaitsSend` as in ConsumerExpectation. */
    handled: number; sentNext: number; awaitsSend: boolean;
  }[];
  /** The events that follow it, most likely first: branches show as several. */
  transitions: { eventType: string; count: number; probability: number; latency: LatencySummary }[];
  /** Occurrences after which the flow sent nothing more from it. */
  endedHere: number;
}

export interface ModelSnapshot {
  windowMs: number;
  minSamples: number;
  expectProbability: number;
  steps: ModelStep[];
}

/** The model as stored (toJSON): plain data. */
export interface StoredModel {
  version: 1;
  stats: Record<string, {
    occurrences: StoredCount;
    producers: Record<string, StoredCount>;
    ended: StoredCount;
    endedOffPath: StoredCount;
    firstNext: StoredSketch;
    next: Record<string, { count: StoredCount; latency: StoredSketch }>;
    consumers: Record<string, {
      service: string; count: StoredCount; wait: StoredSketch;
      /** Absent in models stored before they were learned. */
      handling?: StoredSketch; attempts?: StoredCount; failed?: StoredCount; handled?: StoredCount; sentNext?: StoredCount; untilHandled?: StoredSketch;
    }>;
  }>;
}

/** What stall detection asks of the model, as of one moment (ChoreographyModel.view). */
export interface ModelView {
  readonly nowMs: number;
  expectationsAfter(eventType: string): Expectations;
  medianLatency(eventType: string, next: string): number | null;
  /** The group reads the topic of `message` in order (PartitionProgress.sequential); absent: not known. */
  readsInOrder?(group: string, message: string): boolean;
  /** For a group that reads in order, its earliest handling of a later message of `message`'s partition begun since `notBeforeMs`; absent: not known. */
  laterHandling?(group: string, message: string, notBeforeMs: number): LaterHandling | null;
}

interface Follower {
  count: WindowedCount;
  latency: LatencySketch;
}

interface Handler {
  service: string;
  count: WindowedCount;
  wait: LatencySketch;
  /** A successful handling's own time (its span), attempts at it and failed ones: an edge's processing and error rate. */
  handling: LatencySketch;
  /** From the event sent to the first attempt's end. */
  untilHandled: LatencySketch;
  attempts: WindowedCount;
  failed: WindowedCount;
  /** Successful handlings whose sends are known (Consumption.sentNext), and those that sent an event from inside. */
  handled: WindowedCount;
  sentNext: WindowedCount;
}

interface EventStats {
  occurrences: WindowedCount;
  producers: Map<string, WindowedCount>;
  /** Occurrences after which the flow sent nothing more from this event. */
  ended: WindowedCount;
  /** Of those, flows that had taken a less likely branch on the way: endings of a compensation path. */
  endedOffPath: WindowedCount;
  firstNext: LatencySketch;
  next: Map<string, Follower>;
  consumers: Map<string, Handler>;
}

export class ChoreographyModel {
  readonly #stats = new Map<string, EventStats>();
  readonly #minSamples: number;
  readonly #expectProbability: number;
  readonly #windowMs: number;
  readonly #terminals: Readonly<Record<string, TerminalKind>>;
  readonly #sendEvidenceShare: number;
  readonly #sendEvidenceMinSamples: number;

  constructor(options: ModelOptions = {}) {
    this.#minSamples = options.minSamples ?? DEFAULT_MIN_SAMPLES;
    this.#expectProbability = options.expectProbability ?? DEFAULT_EXPECT_PROBABILITY;
    this.#windowMs = options.windowMs ?? DEFAULT_MODEL_WINDOW_MS;
    this.#terminals = options.terminals ?? {};
    this.#sendEvidenceShare = options.sendEvidenceShare ?? DEFAULT_SEND_EVIDENCE_SHARE;
    this.#sendEvidenceMinSamples = options.sendEvidenceMinSamples ?? DEFAULT_SEND_EVIDENCE_MIN_SAMPLES;
  }

  /**
   * Learns from a flow that has settled (ended, or quiet long enough that nothing more is expected of it),
   * once per flow. A failed flow teaches nothing: it ended where it broke, not where the choreography ends.
   * `stuckAfter`: the event after which a late or stalled flow waits on a learned step; that event teaches
   * nothing (the rest of the flow does).
   */
  learn(progress: FlowProgress, nowMs: number, stuckAfter: string | null = null): void {
    if (progress.failure !== null || progress.events.length === 0) return;
    const window = this.#window(nowMs);
    // judged against what was known before this flow: a branch less likely than even is off the main path
    const offPath = progress.transitions.some((t) => {
      const p = this.#probabilityOfNext(t.from, t.to, window);
      return p !== null && p < 0.5;
    });
    const at = new Map(progress.events.map((event) => [event.eventType, event.atMs]));
    for (const event of progress.events) {
      // the step a stuck flow waits on is not what normally happens: counted, an outage would teach itself normal
      if (event.eventType === stuckAfter) continue;
      const stats = this.#statsOf(event.eventType, window);
      stats.occurrences.add(window);
      if (event.service !== null) counter(stats.producers, event.service, window).add(window);
      const following = progress.transitions.filter((t) => t.from === event.eventType);
      for (const t of following) {
        let follower = stats.next.get(t.to);
        if (follower === undefined) {
          follower = { count: new WindowedCount(window), latency: new LatencySketch(window) };
          stats.next.set(t.to, follower);
        }
        follower.count.add(window);
        follower.latency.add(t.latencyMs, window);
      }
      if (following.length > 0) {
        stats.firstNext.add(Math.min(...following.map((t) => t.latencyMs)), window);
      } else {
        stats.ended.add(window);
        if (offPath) stats.endedOffPath.add(window);
      }
    }
    for (const consumption of progress.consumptions) {
      const sentAt = at.get(consumption.eventType);
      if (sentAt === undefined || consumption.eventType === stuckAfter) continue;
      const stats = this.#statsOf(consumption.eventType, window);
      let handler = stats.consumers.get(consumption.group);
      if (handler === undefined) {
        handler = {
          service: consumption.service, count: new WindowedCount(window), wait: new LatencySketch(window), handling: new LatencySketch(window),
          untilHandled: new LatencySketch(window), attempts: new WindowedCount(window), failed: new WindowedCount(window), handled: new WindowedCount(window), sentNext: new WindowedCount(window),
        };
        stats.consumers.set(consumption.group, handler);
      }
      handler.count.add(window);
      handler.wait.add(consumption.atMs - sentAt, window);
      if (consumption.handlingMs !== null && consumption.handlingMs !== undefined) handler.handling.add(consumption.handlingMs, window);
      if (consumption.endedAtMs !== undefined) handler.untilHandled.add(Math.max(0, consumption.endedAtMs - sentAt), window);
      handler.attempts.add(window, consumption.attempts ?? 1);
      handler.failed.add(window, consumption.failedAttempts ?? (consumption.succeeded ? 0 : 1));
      if (consumption.succeeded && consumption.sentNext !== undefined) {
        handler.handled.add(window);
        if (consumption.sentNext) handler.sentNext.add(window);
      }
    }
  }

  /** What normally happens after `eventType`. */
  expectationsAfter(eventType: string, nowMs: number): Expectations {
    const window = this.#window(nowMs);
    const declared = this.#terminals[eventType] ?? null;
    const stats = this.#stats.get(eventType);
    const occurrences = stats?.occurrences.value(window) ?? 0;
    const trusted = occurrences >= this.#minSamples;
    if (stats === undefined || occurrences === 0) {
      return { eventType, trusted, occurrences, consumers: [], next: null, nextAwaited: false, terminal: declared };
    }
    const consumers = [...stats.consumers].flatMap(([group, handler]): ConsumerExpectation[] => {
      const probability = Math.min(1, handler.count.value(window) / occurrences);
      return probability >= this.#expectProbability || !trusted
        ? [{ group, service: handler.service, probability, wait: summary(handler.wait, window), due: this.#due(handler, window), ...this.#sends(handler, window) }]
        : [];
    });
    const ended = stats.ended.value(window);
    const learnedTerminal = trusted && ended / occurrences >= 0.5
      ? (stats.endedOffPath.value(window) / ended >= 0.5 ? 'compensated' : 'completed')
      : null;
    const terminal = declared ?? learnedTerminal;
    const candidates = [...stats.next]
      .map(([next, follower]) => ({ eventType: next, service: this.#usualProducer(next, window), probability: Math.min(1, follower.count.value(window) / occurrences) }))
      .filter((candidate) => candidate.probability > 0)
      .sort((a, b) => b.probability - a.probability || (a.eventType < b.eventType ? -1 : 1));
    const next = terminal === null && candidates.length > 0 ? { candidates, latency: summary(stats.firstNext, window) } : null;
    // a next event is owed only where flows nearly always go on; where some end (and it is no terminal), none is
    const nextAwaited = next !== null && (!trusted || 1 - ended / occurrences >= this.#expectProbability);
    return { eventType, trusted, occurrences, consumers, next, nextAwaited, terminal };
  }

  /**
   * The model as of `nowMs`, its answers kept: a detection pass asks the same few event types about
   * every open flow, and nothing is learned meanwhile. With `partitions`, where the consumer groups have
   * got in their partitions (live, not learned) answers too.
   */
  view(nowMs: number, partitions?: PartitionProgress): ModelView {
    const expectations = new Map<string, Expectations>();
    const medians = new Map<string, number | null>();
    return {
      nowMs,
      ...(partitions === undefined ? {} : {
        readsInOrder: (group: string, message: string) => partitions.sequential(group, message),
        laterHandling: (group: string, message: string, notBeforeMs: number) =>
          partitions.sequential(group, message) ? partitions.laterHandling(group, message, notBeforeMs) : null,
      }),
      expectationsAfter: (eventType) => {
        let answer = expectations.get(eventType);
        if (answer === undefined) expectations.set(eventType, (answer = this.expectationsAfter(eventType, nowMs)));
        return answer;
      },
      medianLatency: (eventType, next) => {
        const id = `${eventType}\u0000${next}`;
        let answer = medians.get(id);
        if (answer === undefined) medians.set(id, (answer = this.medianLatency(eventType, next, nowMs)));
        return answer;
      },
    };
  }

  /** The typical time from `eventType` sent to `next` sent (the median), when learned. */
  medianLatency(eventType: string, next: string, nowMs: number): number | null {
    return this.#stats.get(eventType)?.next.get(next)?.latency.quantile(0.5, this.#window(nowMs)) ?? null;
  }

  /** Every event type the model has seen in its current and previous window. */
  eventTypes(nowMs: number): string[] {
    const window = this.#window(nowMs);
    return [...this.#stats].filter(([, stats]) => stats.occurrences.value(window) > 0).map(([eventType]) => eventType).sort();
  }

  /** Everything the model knows, as of `nowMs`: per event type what follows it (GET /api/model). */
  snapshot(nowMs: number): ModelSnapshot {
    const window = this.#window(nowMs);
    const steps = this.eventTypes(nowMs).map((eventType): ModelStep => {
      const stats = this.#stats.get(eventType)!;
      const expected = this.expectationsAfter(eventType, nowMs);
      const occurrences = expected.occurrences;
      return {
        eventType,
        producers: [...stats.producers].map(([service, count]) => ({ service, count: count.value(window) })).filter((p) => p.count > 0)
          .sort((a, b) => b.count - a.count),
        occurrences,
        trusted: expected.trusted,
        terminal: expected.terminal,
        consumers: [...stats.consumers].map(([group, handler]) => ({
          group, service: handler.service, count: handler.count.value(window), probability: Math.min(1, handler.count.value(window) / occurrences),
          awaited: expected.consumers.some((c) => c.group === group), wait: summary(handler.wait, window), untilHandled: summary(handler.untilHandled, window),
          handling: summary(handler.handling, window), attempts: handler.attempts.value(window), failedAttempts: handler.failed.value(window),
          handled: handler.handled.value(window), sentNext: handler.sentNext.value(window),
          // judged by only for an awaited group, as stall detection looks at those
          awaitsSend: expected.consumers.some((c) => c.group === group && c.awaitsSend === true),
        })).filter((c) => c.count > 0),
        transitions: [...stats.next].map(([next, follower]) => ({
          eventType: next, count: follower.count.value(window), probability: Math.min(1, follower.count.value(window) / occurrences),
          latency: summary(follower.latency, window),
        })).filter((t) => t.count > 0).sort((a, b) => b.probability - a.probability),
        endedHere: stats.ended.value(window),
      };
    });
    return { windowMs: this.#windowMs, minSamples: this.#minSamples, expectProbability: this.#expectProbability, steps };
  }

  /** As stored: every count and sketch, by event type. */
  toJSON(): StoredModel {
    const stats: StoredModel['stats'] = {};
    for (const [eventType, s] of this.#stats) {
      stats[eventType] = {
        occurrences: s.occurrences.toJSON(),
        producers: Object.fromEntries([...s.producers].map(([service, count]) => [service, count.toJSON()])),
        ended: s.ended.toJSON(),
        endedOffPath: s.endedOffPath.toJSON(),
        firstNext: s.firstNext.toJSON(),
        next: Object.fromEntries([...s.next].map(([next, f]) => [next, { count: f.count.toJSON(), latency: f.latency.toJSON() }])),
        consumers: Object.fromEntries([...s.consumers].map(([group, h]) => [group, {
          service: h.service, count: h.count.toJSON(), wait: h.wait.toJSON(), handling: h.handling.toJSON(), attempts: h.attempts.toJSON(), failed: h.failed.toJSON(),
          handled: h.handled.toJSON(), sentNext: h.sentNext.toJSON(), untilHandled: h.untilHandled.toJSON(),
        }])),
      };
    }
    return { version: 1, stats };
  }

  /** A model from what toJSON stored, with these options (the stored counts and sketches, today's settings). */
  static fromJSON(stored: StoredModel, options: ModelOptions = {}): ChoreographyModel {
    const model = new ChoreographyModel(options);
    if (stored.version !== 1) return model; // a format this version does not know: learn afresh
    const counts = (map: Record<string, StoredCount>) => new Map(Object.entries(map).map(([key, count]) => [key, WindowedCount.fromJSON(count)]));
    for (const [eventType, s] of Object.entries(stored.stats)) {
      model.#stats.set(eventType, {
        occurrences: WindowedCount.fromJSON(s.occurrences),
        producers: counts(s.producers),
        ended: WindowedCount.fromJSON(s.ended),
        endedOffPath: WindowedCount.fromJSON(s.endedOffPath),
        firstNext: LatencySketch.fromJSON(s.firstNext),
        next: new Map(Object.entries(s.next).map(([next, f]) => [next, { count: WindowedCount.fromJSON(f.count), latency: LatencySketch.fromJSON(f.latency) }])),
        consumers: new Map(Object.entries(s.consumers).map(([group, h]) => [group, {
          service: h.service, count: WindowedCount.fromJSON(h.count), wait: LatencySketch.fromJSON(h.wait),
          // a model stored before these were learned starts them empty, in the same window
          handling: h.handling === undefined ? new LatencySketch(h.count.window) : LatencySketch.fromJSON(h.handling),
          attempts: h.attempts === undefined ? new WindowedCount(h.count.window) : WindowedCount.fromJSON(h.attempts),
          failed: h.failed === undefined ? new WindowedCount(h.count.window) : WindowedCount.fromJSON(h.failed),
          handled: h.handled === undefined ? new WindowedCount(h.count.window) : WindowedCount.fromJSON(h.handled),
          sentNext: h.sentNext === undefined ? new WindowedCount(h.count.window) : WindowedCount.fromJSON(h.sentNext),
          untilHandled: h.untilHandled === undefined ? new LatencySketch(h.count.window) : LatencySketch.fromJSON(h.untilHandled),
        }])),
      });
    }
    return model;
  }

  /** The group's time until handled once it has enough samples to trust, else its wait (ConsumerExpectation.due). */
  #due(handler: Handler, window: number): LatencySummary {
    const untilHandled = summary(handler.untilHandled, window);
    return untilHandled.count >= this.#minSamples ? untilHandled : summary(handler.wait, window);
  }

  /** How often the group's handlings send an event from inside, and whether that is always enough to call a silent end a stall. */
  #sends(handler: Handler, window: number): { sendShare: number | null; awaitsSend: boolean } {
    const handled = handler.handled.value(window);
    if (handled === 0) return { sendShare: null, awaitsSend: false };
    const sendShare = handler.sentNext.value(window) / handled;
    return { sendShare, awaitsSend: handled >= this.#sendEvidenceMinSamples && sendShare >= this.#sendEvidenceShare };
  }

  /** The service that usually sends `eventType`. */
  #usualProducer(eventType: string, window: number): string | null {
    let best: string | null = null;
    let bestCount = 0;
    for (const [service, count] of this.#stats.get(eventType)?.producers ?? []) {
      const value = count.value(window);
      if (value > bestCount) [best, bestCount] = [service, value];
    }
    return best;
  }

  #probabilityOfNext(eventType: string, next: string, window: number): number | null {
    const stats = this.#stats.get(eventType);
    const occurrences = stats?.occurrences.value(window) ?? 0;
    if (stats === undefined || occurrences < this.#minSamples) return null;
    return (stats.next.get(next)?.count.value(window) ?? 0) / occurrences;
  }

  #statsOf(eventType: string, window: number): EventStats {
    let stats = this.#stats.get(eventType);
    if (stats === undefined) {
      stats = {
        occurrences: new WindowedCount(window), producers: new Map(), ended: new WindowedCount(window), endedOffPath: new WindowedCount(window),
        firstNext: new LatencySketch(window), next: new Map(), consumers: new Map(),
      };
      this.#stats.set(eventType, stats);
    }
    return stats;
  }

  #window(nowMs: number): number {
    return Math.floor(nowMs / this.#windowMs);
  }
}

function counter(map: Map<string, WindowedCount>, key: string, window: number): WindowedCount {
  let count = map.get(key);
  if (count === undefined) {
    count = new WindowedCount(window);
    map.set(key, count);
  }
  return count;
}

function summary(sketch: LatencySketch, window: number): LatencySummary {
  return {
    count: sketch.count(window),
    p50Ms: sketch.quantile(0.5, window),
    p90Ms: sketch.quantile(0.9, window),
    p99Ms: sketch.quantile(0.99, window),
    p999Ms: sketch.quantile(0.999, window),
  };
}
