/**
 * A flow described from its spans: facts, hops, anomalies, and when time alone would change the
 * description. Pure, and the same function serves the flow worker (which stores the facts for lists
 * and filters) and the API (which describes a flow's stored spans when asked for it).
 */
import { findAnomalies } from './anomalies.ts';
import { inCausalOrder } from './causal-order.ts';
import { ANOMALY_TYPES, MAX_LISTED, type Anomaly, type AnomalyType, type FlowDescription, type FlowFacts, type FlowId } from './flow.ts';
import type { FlowSpan } from './flow-span.ts';
import { findHops, type FlowHops } from './hops.ts';
import type { BusinessKey } from './span.ts';

export interface DescribeOptions {
  /** Most spans of one flow described (the earliest, in causal order); the rest are counted. Default 10_000. */
  maxFlowSpans?: number;
  /** An event no consumer handled this long after it was sent is an orphan. Default 300_000 (5 minutes). */
  orphanAfterMs?: number;
  /** Whether a business key is shared by too many unrelated chains to join by (the assembler says). Default: none is. */
  isSharedKey?: (key: BusinessKey) => boolean;
  /**
   * How many spans the flow has in all, when `spans` are only its earliest (the API loads no more of a
   * large flow than it describes). Default: the spans given.
   */
  totalSpans?: number;
}

export const DEFAULT_MAX_FLOW_SPANS = 10_000;
export const DEFAULT_ORPHAN_AFTER_MS = 300_000;

export interface DescribedFlow extends FlowDescription {
  /** The spans described, in causal order (at most maxFlowSpans). */
  spans: FlowSpan[];
  /** Its deliveries and steps with the spans behind them (for flow-progress.ts). */
  found: FlowHops;
}

export function describeFlow(flowId: FlowId, flowSpans: readonly FlowSpan[], nowMs: number, options: DescribeOptions = {}): DescribedFlow {
  const maxFlowSpans = options.maxFlowSpans ?? DEFAULT_MAX_FLOW_SPANS;
  const ordered = inCausalOrder(flowSpans);
  const spans = ordered.length > maxFlowSpans ? ordered.slice(0, maxFlowSpans) : ordered;
  const totalSpans = Math.max(ordered.length, options.totalSpans ?? 0);
  const droppedSpans = totalSpans - spans.length;

  const { deliveries, steps } = findHops(spans);
  const found = findAnomalies(spans, deliveries, nowMs, { orphanAfterMs: options.orphanAfterMs ?? DEFAULT_ORPHAN_AFTER_MS });
  const anomalies: Anomaly[] = found.anomalies;
  const keys = distinct(spans.map((span) => span.businessKey));
  for (const key of keys) {
    if (options.isSharedKey?.(key)) {
      anomalies.push({
        type: 'shared-key', severity: 'warning', businessKey: key,
        message: `business key "${key.slice(0, 64)}" is carried by too many unrelated chains to join by (a customer id, a constant?): flows are not joined by it`,
      });
    }
  }
  if (droppedSpans > 0) {
    anomalies.push({
      type: 'truncated', severity: 'warning', droppedSpans, maxFlowSpans,
      message: `the flow has ${totalSpans} spans, more than the ${maxFlowSpans} described: the latest ${droppedSpans} are left out`,
    });
  }

  const hops = [...deliveries.map((d) => d.hop), ...steps];
  const traceIds = distinct(spans.map((span) => span.traceId));
  // loops, not Math.min(...spread): a flow may hold more spans than a call takes arguments
  let firstEventMs = Number.POSITIVE_INFINITY;
  let lastEventMs = Number.NEGATIVE_INFINITY;
  for (const span of spans) {
    if (span.startMs < firstEventMs) firstEventMs = span.startMs;
    if (span.endMs > lastEventMs) lastEventMs = span.endMs;
  }
  const present = new Set<AnomalyType>(anomalies.map((anomaly) => anomaly.type));
  const facts: FlowFacts = {
    flowId,
    businessKeys: keys.slice(0, MAX_LISTED),
    traceIds: traceIds.slice(0, MAX_LISTED),
    traceCount: traceIds.length,
    firstEventMs,
    lastEventMs,
    durationMs: lastEventMs - firstEventMs,
    services: distinct(spans.map((span) => span.serviceName)),
    eventTypes: distinct(spans.map((span) => span.eventType)),
    spanCount: totalSpans,
    errorCount: ordered.filter((span) => span.error).length,
    hopCount: hops.length,
    pendingHops: hops.filter((hop) => hop.pending).length,
    anomalies: ANOMALY_TYPES.filter((type) => present.has(type)),
    droppedSpans,
  };
  return { facts, hops, anomalies, recheckAtMs: found.recheckAtMs, spans, found: { deliveries, steps } };
}

function distinct<T>(values: readonly (T | null)[]): T[] {
  const seen = new Set<T>();
  for (const value of values) if (value !== null) seen.add(value);
  return [...seen];
}
