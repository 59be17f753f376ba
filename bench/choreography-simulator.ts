// A known order choreography, simulated flow by flow with its ground truth, for the stall-detection
// benchmark. OrderCreated goes to payment (and to analytics, which only listens), then PaymentAuthorized
// (92 %) → inventory → StockReserved → shipping → OrderShipped → notification, or PaymentFailed (8 %) →
// the order service's compensation → OrderCancelled → notification. Latencies are log-normal per step;
// shipping is slow but healthy, with a long tail (a median of 2 s, past 15 s one time in a thousand). A
// delivery is retried after a 1–3 s backoff 2 % of the time. A share of flows is stalled at a random
// point: a consumer group that never handles the event, or a handler that never sends the next one, either
// hung (its handling never ends) or silent (it ends without sending); nothing after it happens, and the
// flow records when the stall began (the unanswered event's time). As in a collector, a handling is known
// when it ends (spans report when they end), an event when it is sent.
import type { FlowProgress } from '../collector/src/core/flow-progress.ts';

interface Hop {
  event: string;
  producer: string;
  /** Groups handling the event: [group, service, median wait ms, its spread (σ of the log)]. */
  consumers: [string, string, number, number][];
  /** What the first consumer's handling sends next: [probability, hop] choices; none at the end. */
  next: { probability: number; hop: string }[];
  /** The first consumer's handling, before it sends the next event. */
  processing: [number, number];
}

const HOPS: Record<string, Hop> = {
  OrderCreated: {
    event: 'OrderCreated', producer: 'order', consumers: [['payments', 'payment', 30, 0.4], ['analytics', 'analytics', 50, 0.5]],
    next: [{ probability: 0.92, hop: 'PaymentAuthorized' }, { probability: 0.08, hop: 'PaymentFailed' }], processing: [400, 0.3],
  },
  PaymentAuthorized: { event: 'PaymentAuthorized', producer: 'payment', consumers: [['inventory', 'inventory', 30, 0.4]], next: [{ probability: 1, hop: 'StockReserved' }], processing: [150, 0.3] },
  StockReserved: { event: 'StockReserved', producer: 'inventory', consumers: [['shipping', 'shipping', 30, 0.4]], next: [{ probability: 1, hop: 'OrderShipped' }], processing: [2_000, 0.9] },
  OrderShipped: { event: 'OrderShipped', producer: 'shipping', consumers: [['notification', 'notification', 40, 0.4]], next: [], processing: [0, 0] },
  PaymentFailed: { event: 'PaymentFailed', producer: 'payment', consumers: [['order-compensation', 'order', 30, 0.4]], next: [{ probability: 1, hop: 'OrderCancelled' }], processing: [100, 0.3] },
  OrderCancelled: { event: 'OrderCancelled', producer: 'order', consumers: [['notification', 'notification', 40, 0.4]], next: [], processing: [0, 0] },
};

export const TERMINAL_EVENTS = ['OrderShipped', 'OrderCancelled'];

/** What the collector learns, at `atMs`: an event sent, a handling ended (started at `startMs`), which event led to which. */
type Fact =
  | { atMs: number; kind: 'event'; eventType: string; service: string }
  | { atMs: number; kind: 'consumption'; eventType: string; group: string; service: string; startMs: number; sentNext: boolean }
  | { atMs: number; kind: 'transition'; from: string; to: string; latencyMs: number };

/**
 * consumer: the group never handled the event; hung: its handling never ended (so it is never seen);
 * silent: its handling ended without sending the next event.
 */
export type StallKind = 'consumer' | 'hung' | 'silent';

export interface Stall {
  kind: StallKind;
  eventType: string;
  /** The group that never handled it (consumer), or whose handling hung or ended silently. */
  group: string | null;
  /** When the unanswered event was sent. */
  sinceMs: number;
}

export interface SimulatedFlow {
  startMs: number;
  /** In time order. */
  facts: Fact[];
  stall: Stall | null;
}

/** Simulates one flow from `startMs`; stalled with probability `stallRate`. */
export function simulateFlow(startMs: number, next: () => number, stallRate: number): SimulatedFlow {
  const normal = () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  const logNormal = ([median, sigma]: [number, number]) => median * Math.exp(sigma * normal());
  const facts: Fact[] = [];
  // where it stalls, counted in decisions along the way (each consumer, each send)
  const stallAt = next() < stallRate ? Math.floor(next() * 6) : -1;
  let decision = 0;
  let stall: Stall | null = null;
  let hop: Hop | undefined = HOPS.OrderCreated!;
  let at = startMs;
  let from: string | null = null;
  let fromAt = at;
  while (hop !== undefined && stall === null) {
    facts.push({ atMs: at, kind: 'event', eventType: hop.event, service: hop.producer });
    if (from !== null) facts.push({ atMs: at, kind: 'transition', from, to: hop.event, latencyMs: at - fromAt });
    let handledAt = at;
    const [mainGroup, mainService] = hop.consumers[0]!;
    for (const [index, [group, service, median, sigma]] of hop.consumers.entries()) {
      const main = index === 0;
      if (main && decision++ === stallAt) {
        stall = { kind: 'consumer', eventType: hop.event, group, sinceMs: at };
        continue;
      }
      const startsAt = at + logNormal([median, sigma]);
      if (main) handledAt = startsAt;
      // a group that only listens handles it in a few milliseconds; the main group's handling ends as it sends
      else facts.push({ atMs: startsAt + 1 + logNormal([5, 0.3]), kind: 'consumption', eventType: hop.event, group, service, startMs: startsAt, sentNext: false });
    }
    const choice = pick(hop.next, next());
    if (stall !== null) break;
    let sendAt = handledAt + logNormal(hop.processing);
    const eventType = hop.event;
    const handled = (endsAt: number, sentNext: boolean) => facts.push({
      atMs: endsAt, kind: 'consumption', eventType, group: mainGroup, service: mainService, startMs: handledAt, sentNext,
    });
    if (choice === undefined) {
      handled(sendAt + 1, false);
      break;
    }
    if (decision++ === stallAt) {
      const hung = next() < 0.5;
      stall = { kind: hung ? 'hung' : 'silent', eventType: hop.event, group: mainGroup, sinceMs: at };
      if (!hung) handled(sendAt + 1, false);
      break;
    }
    if (next() < 0.02) sendAt += 1_000 + next() * 2_000 + logNormal(hop.processing); // a failed attempt, redelivered
    handled(sendAt + 1, true);
    from = hop.event;
    fromAt = at;
    at = sendAt;
    hop = HOPS[choice];
  }
  facts.sort((a, b) => a.atMs - b.atMs);
  return { startMs, facts, stall };
}

function pick(choices: { probability: number; hop: string }[], r: number): string | undefined {
  let sum = 0;
  for (const choice of choices) {
    sum += choice.probability;
    if (r < sum) return choice.hop;
  }
  return choices.at(-1)?.hop;
}

/** What the collector would know of the flow at `nowMs`: every fact up to then. */
export function progressAt(flow: SimulatedFlow, nowMs: number): FlowProgress {
  const progress: FlowProgress = { events: [], consumptions: [], transitions: [], failure: null, lastActivityMs: flow.startMs };
  for (const fact of flow.facts) {
    if (fact.atMs > nowMs) break;
    progress.lastActivityMs = fact.atMs;
    if (fact.kind === 'event') progress.events.push({ eventType: fact.eventType, service: fact.service, atMs: fact.atMs });
    else if (fact.kind === 'consumption') {
      progress.consumptions.push({
        eventType: fact.eventType, group: fact.group, service: fact.service, atMs: fact.startMs, succeeded: true, handlingMs: fact.atMs - fact.startMs,
        endedAtMs: fact.atMs, doneAtMs: fact.atMs, sentNext: fact.sentNext,
      });
    }
    else progress.transitions.push({ from: fact.from, to: fact.to, latencyMs: fact.latencyMs });
  }
  return progress;
}

/** The same flow started `byMs` later. */
export function shifted(flow: SimulatedFlow, byMs: number): SimulatedFlow {
  return {
    startMs: flow.startMs + byMs,
    facts: flow.facts.map((fact) => (fact.kind === 'consumption' ? { ...fact, atMs: fact.atMs + byMs, startMs: fact.startMs + byMs } : { ...fact, atMs: fact.atMs + byMs })),
    stall: flow.stall === null ? null : { ...flow.stall, sinceMs: flow.stall.sinceMs + byMs },
  };
}
