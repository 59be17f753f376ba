// A known order choreography, simulated with its ground truth, for the stall-detection benchmark.
// OrderCreated goes to payment (and to analytics, which only listens), then PaymentAuthorized (92 %) →
// inventory → StockReserved → shipping → OrderShipped → notification, or PaymentFailed (8 %) → the order
// service's compensation → OrderCancelled → notification. Orders share the topics' partitions: each
// message takes the next offset of its partition, and a group that reads in order (all but shipping) starts
// a message only once done with the one before. Latencies are log-normal per step; shipping is slow but
// healthy, with a long tail (a median of 2 s, past 15 s one time in a thousand), and handles its messages
// side by side. A delivery is retried after a 1–3 s backoff 2 % of the time, holding up the messages behind
// it. A share of flows is stalled at a random point: a consumer group that never handles the event (it goes
// on past it), or a handler that never sends the next one, either hung (its handling never ends, and its
// group goes on past it) or silent (it ends without sending); nothing after it happens, and the flow records
// when the stall began (the unanswered event's time). As in a collector, a handling is known when it ends
// (spans report when they end), an event when it is sent.
import TinyQueue from 'tinyqueue';
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
  | { atMs: number; kind: 'event'; eventType: string; service: string; message: string }
  | { atMs: number; kind: 'consumption'; eventType: string; group: string; service: string; startMs: number; sentNext: boolean; message: string }
  | { atMs: number; kind: 'transition'; from: string; to: string; latencyMs: number };

/**
 * consumer: the group never handled the event (it went past it, as after an offset reset or a seek);
 * hung: its handling never ended (so it is never seen), and the group went on past it; silent: its
 * handling ended without sending the next event.
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
  /** Its index in the traffic: the flow id the detector knows it by. */
  id: string;
  startMs: number;
  /** In time order. */
  facts: Fact[];
  stall: Stall | null;
}

export interface TrafficOptions {
  /** Flows, started `gapMs` apart from `startMs`. */
  count: number;
  startMs: number;
  gapMs: number;
  next: () => number;
  stallRate: number;
  /** Partitions of every topic; an order's events all go to the partition its key hashes to. Default 6. */
  partitions?: number;
}

/**
 * The groups that read a partition in order, one message at a time (kafkajs' eachMessage): a message
 * waits for the one before it to be handled. Shipping handles its slow messages side by side (its
 * handling takes seconds), so it takes them as they come.
 */
const READS_IN_ORDER = new Set(['payments', 'analytics', 'inventory', 'order-compensation', 'notification']);

/** Where a flow is: its event `hop` sent at `at`. */
interface Cursor {
  flow: SimulatedFlow;
  hop: Hop;
  at: number;
  from: string | null;
  fromAt: number;
  /** Where it stalls, counted in decisions along the way (each main consumer, each send); -1: it does not. */
  stallAt: number;
  decision: number;
  partition: number;
}

/**
 * Simulates `count` orders sharing the topics' partitions: events are handled in time order, each
 * message gets the next offset of its partition, and a group that reads in order starts a message only
 * once it is done with the one before (a retried message holds up those behind it); a stalled group
 * goes on past the message it never handles (or whose handling hung).
 */
export function simulateTraffic(options: TrafficOptions): SimulatedFlow[] {
  const { next, stallRate } = options;
  const partitions = options.partitions ?? 6;
  const normal = () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  const logNormal = ([median, sigma]: [number, number]) => median * Math.exp(sigma * normal());
  const flows: SimulatedFlow[] = [];
  const queue = new TinyQueue<Cursor>([], (a, b) => a.at - b.at);
  for (let i = 0; i < options.count; i += 1) {
    const flow: SimulatedFlow = { id: `flow-${i}`, startMs: options.startMs + i * options.gapMs, facts: [], stall: null };
    flows.push(flow);
    const stallAt = next() < stallRate ? Math.floor(next() * 6) : -1;
    queue.push({ flow, hop: HOPS.OrderCreated!, at: flow.startMs, from: null, fromAt: flow.startMs, stallAt, decision: 0, partition: Math.floor(next() * partitions) });
  }
  /** When each group is done with what it took from each partition (groups that read in order). */
  const freeAt = new Map<string, number>();
  const offsets = new Map<string, number>();
  for (let cursor = queue.pop(); cursor !== undefined; cursor = queue.pop()) {
    const { flow, hop, at } = cursor;
    const place = `${hop.event}/${cursor.partition}`;
    const offset = offsets.get(place) ?? 0;
    offsets.set(place, offset + 1);
    const message = `${place}/${offset}`;
    flow.facts.push({ atMs: at, kind: 'event', eventType: hop.event, service: hop.producer, message });
    if (cursor.from !== null) flow.facts.push({ atMs: at, kind: 'transition', from: cursor.from, to: hop.event, latencyMs: at - cursor.fromAt });
    const startOf = (group: string, median: number, sigma: number) => {
      const arrives = at + logNormal([median, sigma]);
      return READS_IN_ORDER.has(group) ? Math.max(arrives, freeAt.get(`${group}\u0000${place}`) ?? -Infinity) : arrives;
    };
    const done = (group: string, atMs: number) => {
      if (READS_IN_ORDER.has(group)) freeAt.set(`${group}\u0000${place}`, atMs);
    };
    let handledAt = at;
    let stalled = false;
    const [mainGroup, mainService] = hop.consumers[0]!;
    for (const [index, [group, service, median, sigma]] of hop.consumers.entries()) {
      const main = index === 0;
      if (main && cursor.decision++ === cursor.stallAt) {
        flow.stall = { kind: 'consumer', eventType: hop.event, group, sinceMs: at };
        stalled = true;
        continue;
      }
      const startsAt = startOf(group, median, sigma);
      if (main) {
        handledAt = startsAt;
        continue;
      }
      // a group that only listens handles it in a few milliseconds
      const endsAt = startsAt + 1 + logNormal([5, 0.3]);
      done(group, endsAt);
      flow.facts.push({ atMs: endsAt, kind: 'consumption', eventType: hop.event, group, service, startMs: startsAt, sentNext: false, message });
    }
    if (stalled) continue;
    const choice = pick(hop.next, next());
    // the main group's handling ends as it sends
    let sendAt = handledAt + logNormal(hop.processing);
    const handled = (endsAt: number, sentNext: boolean) => {
      done(mainGroup, endsAt);
      flow.facts.push({ atMs: endsAt, kind: 'consumption', eventType: hop.event, group: mainGroup, service: mainService, startMs: handledAt, sentNext, message });
    };
    if (choice === undefined) {
      handled(sendAt + 1, false);
      continue;
    }
    if (cursor.decision++ === cursor.stallAt) {
      const hung = next() < 0.5;
      flow.stall = { kind: hung ? 'hung' : 'silent', eventType: hop.event, group: mainGroup, sinceMs: at };
      if (hung) done(mainGroup, handledAt); // the group goes on without it
      else handled(sendAt + 1, false);
      continue;
    }
    if (next() < 0.02) sendAt += 1_000 + next() * 2_000 + logNormal(hop.processing); // a failed attempt, redelivered
    handled(sendAt + 1, true);
    queue.push({ ...cursor, hop: HOPS[choice]!, at: sendAt, from: hop.event, fromAt: at });
  }
  for (const flow of flows) flow.facts.sort((a, b) => a.atMs - b.atMs);
  return flows;
}

/** One flow on its own (no other traffic on its partitions), from `startMs`; stalled with probability `stallRate`. */
export function simulateFlow(startMs: number, next: () => number, stallRate: number): SimulatedFlow {
  return simulateTraffic({ count: 1, startMs, gapMs: 0, next, stallRate, partitions: 1 })[0]!;
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
    if (fact.kind === 'event') progress.events.push({ eventType: fact.eventType, service: fact.service, atMs: fact.atMs, message: fact.message });
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
    id: flow.id,
    startMs: flow.startMs + byMs,
    facts: flow.facts.map((fact) => (fact.kind === 'consumption' ? { ...fact, atMs: fact.atMs + byMs, startMs: fact.startMs + byMs } : { ...fact, atMs: fact.atMs + byMs })),
    stall: flow.stall === null ? null : { ...flow.stall, sinceMs: flow.stall.sinceMs + byMs },
  };
}
