/**
 * One flow as a timeline, before anything is drawn (GET /api/flows/:flowId → lanes, bars, arrows): a
 * swimlane per service in the order the flow reached them, each span a bar in its service's lane (spans
 * that overlap in time take rows of their own), each delivery an arrow from the producer's end to the
 * consumer's start with the wait in Kafka apart from the handling, labelled with how it was joined.
 * Retries and duplicate deliveries are marked on their bars; a hop that starts a new trace says so; a
 * hop whose clocks disagree is drawn with no wait at the consumer's start, flagged, never backwards.
 *
 * Pure: times in epoch milliseconds, rows as indices; the view turns them into pixels.
 */
import type { ApiAnomaly, ApiHop, ApiJoinReason, ApiSpan, FlowResponse } from '../../../collector/src/api/types.ts';

export type SpanRole = 'producer' | 'consumer' | 'other';

export interface TimelineSpan {
  /** `<traceId>/<spanId>`. */
  key: string;
  span: ApiSpan;
  role: SpanRole;
  /** What the bar says: "sends OrderCreated", "handles OrderCreated", else the span's name. */
  label: string;
  eventType: string | null;
  lane: number;
  /** The row within its lane (0 first). */
  row: number;
  /** The trace it belongs to, by order of first appearance in the flow. */
  trace: number;
  error: boolean;
  /** A delivery attempt after the first (`choreoscope.delivery.attempt` > 1). */
  retryAttempt: number | null;
  /** A successful handling of a message its group had already handled. */
  duplicate: boolean;
  /** When the next bar in its row starts (null: none): how much room its label has. */
  nextStartMs: number | null;
}

export interface TimelineLane {
  service: string;
  index: number;
  rows: number;
  /** The lane's first row among all rows of the timeline. */
  firstRow: number;
}

export interface TimelineHop {
  key: string;
  kind: 'delivery' | 'step';
  /** null: the producer is unknown or has not arrived (`pending`). */
  from: TimelineSpan | null;
  to: TimelineSpan;
  joinedBy: ApiJoinReason | null;
  pending: boolean;
  /** Waiting in Kafka, from the producer's end to the consumer's start; null when not known or the clocks disagree. */
  wait: { fromMs: number; toMs: number } | null;
  clockSkew: boolean;
  /** The consumer is in another trace than its producer: the trace context was not carried (or a batch began one). */
  newTrace: boolean;
  eventType: string | null;
  consumerGroup: string | null;
}

export interface FlowTimeline {
  startMs: number;
  endMs: number;
  lanes: TimelineLane[];
  spans: TimelineSpan[];
  hops: TimelineHop[];
  /** Trace ids in order of first appearance: a bar's `trace` indexes it. */
  traces: string[];
  rows: number;
}

const keyOf = (ref: { traceId: string; spanId: string }) => `${ref.traceId}/${ref.spanId}`;

export function flowTimeline(response: FlowResponse): FlowTimeline {
  const spans = [...response.spans].sort((a, b) => a.startTimeMs - b.startTimeMs || a.endTimeMs - b.endTimeMs);
  const traces: string[] = [];
  for (const span of spans) if (!traces.includes(span.traceId)) traces.push(span.traceId);
  const services: string[] = [];
  for (const span of spans) if (!services.includes(span.serviceName)) services.push(span.serviceName);

  const eventTypeOf = new Map<string, string>();
  const attemptOf = new Map<string, number>();
  for (const hop of response.hops) {
    if (hop.eventType === null) continue;
    if (hop.kind === 'delivery') {
      eventTypeOf.set(keyOf(hop.to), hop.eventType);
      if (hop.from !== null) eventTypeOf.set(keyOf(hop.from), hop.eventType);
      if (hop.attempt !== null) attemptOf.set(keyOf(hop.to), hop.attempt);
    } else {
      eventTypeOf.set(keyOf(hop.to), hop.eventType);
    }
  }
  const duplicates = new Set<string>();
  for (const anomaly of response.anomalies) {
    if (anomaly.type === 'duplicate-delivery') for (const ref of anomaly.deliveries.slice(1)) duplicates.add(keyOf(ref));
  }

  // rows within a lane: a span goes in the first row free when it starts
  const rowEnds: number[][] = services.map(() => []);
  const placed: TimelineSpan[] = spans.map((span) => {
    const key = keyOf(span);
    const lane = services.indexOf(span.serviceName);
    const ends = rowEnds[lane]!;
    let row = ends.findIndex((endMs) => endMs <= span.startTimeMs);
    if (row === -1) row = ends.length;
    ends[row] = Math.max(span.endTimeMs, span.startTimeMs + 0.001);
    const role: SpanRole = span.kind === 'producer' ? 'producer' : span.kind === 'consumer' ? 'consumer' : 'other';
    const eventType = eventTypeOf.get(key) ?? stringAttribute(span, 'choreoscope.event.type');
    const label = eventType === null || role === 'other' ? span.name : `${role === 'producer' ? 'sends' : 'handles'} ${eventType}`;
    const attempt = attemptOf.get(key) ?? null;
    return {
      key, span, role, label, eventType, lane, row, trace: traces.indexOf(span.traceId), error: span.status.code === 'error',
      retryAttempt: attempt !== null && attempt > 1 ? attempt : null, duplicate: duplicates.has(key), nextStartMs: null,
    };
  });
  const rows = new Map<string, TimelineSpan[]>();
  for (const span of placed) rows.set(`${span.lane}:${span.row}`, [...(rows.get(`${span.lane}:${span.row}`) ?? []), span]);
  for (const row of rows.values()) row.forEach((span, i) => (span.nextStartMs = row[i + 1]?.span.startTimeMs ?? null)); // placed in start order
  let firstRow = 0;
  const lanes = services.map((service, index) => {
    const lane = { service, index, rows: Math.max(1, rowEnds[index]!.length), firstRow };
    firstRow += lane.rows;
    return lane;
  });

  const byKey = new Map(placed.map((span) => [span.key, span]));
  const hops: TimelineHop[] = [];
  for (const hop of response.hops) {
    const to = byKey.get(keyOf(hop.to));
    if (to === undefined) continue;
    const from = hop.from === null ? null : byKey.get(keyOf(hop.from)) ?? null;
    hops.push({
      key: `${hop.kind}:${hop.from === null ? '?' : keyOf(hop.from)}->${keyOf(hop.to)}`, kind: hop.kind, from, to, joinedBy: hop.joinedBy,
      pending: hop.pending, wait: waitOf(hop, from, to), clockSkew: hop.clockSkew, newTrace: from !== null && from.span.traceId !== to.span.traceId,
      eventType: hop.eventType, consumerGroup: hop.consumerGroup,
    });
  }
  const startMs = Math.min(...placed.map((s) => s.span.startTimeMs));
  const endMs = Math.max(...placed.map((s) => s.span.endTimeMs));
  return {
    startMs: Number.isFinite(startMs) ? startMs : 0, endMs: Number.isFinite(endMs) ? endMs : 0, lanes, spans: placed, hops, traces, rows: firstRow,
  };
}

function waitOf(hop: ApiHop, from: TimelineSpan | null, to: TimelineSpan): TimelineHop['wait'] {
  if (hop.kind !== 'delivery' || from === null || hop.clockSkew) return null;
  const fromMs = from.span.endTimeMs;
  const toMs = to.span.startTimeMs;
  return toMs > fromMs ? { fromMs, toMs } : null;
}

function stringAttribute(span: ApiSpan, name: string): string | null {
  const value = span.attributes[name];
  return typeof value === 'string' ? value : null;
}

/** The anomalies worth a line under the flow's header, as the API words them. */
export function anomalyLines(anomalies: readonly ApiAnomaly[]): string[] {
  return anomalies.filter((anomaly) => anomaly.type !== 'fan-out' && anomaly.type !== 'fan-in').map((anomaly) => anomaly.message);
}
