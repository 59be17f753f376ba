/**
 * A flow's own small graph (pure): its hops read as a choreography of one — who sent each event, which
 * groups handled it, which event each handling sent — laid out as the map lays out the whole one
 * (map-model.ts), so the flow view can show the chain at a glance beside the timeline.
 */
import type { ApiLatency, ApiModelStep, FlowResponse } from '../../../collector/src/api/types.ts';
import { choreographyMap, type ChoreographyMap } from './map-model.ts';

const once = (ms: number | null): ApiLatency => ({ count: ms === null ? 0 : 1, p50Ms: ms, p90Ms: ms, p99Ms: ms, p999Ms: ms });
const keyOf = (ref: { traceId: string; spanId: string }) => `${ref.traceId}/${ref.spanId}`;

/**
 * The graph, or how many nodes it would have when that is over `maxNodes`: laid out only when small
 * enough to read (and to lay out quickly: dagre takes a third of a second for a thousand nodes).
 */
export function flowGraph(response: FlowResponse, maxNodes = Infinity): ChoreographyMap | { tooMany: number } {
  const steps = new Map<string, ApiModelStep>();
  const step = (eventType: string) => {
    let found = steps.get(eventType);
    if (found === undefined) {
      found = { eventType, producers: [], occurrences: 1, trusted: true, terminal: null, consumers: [], transitions: [], endedHere: 0 };
      steps.set(eventType, found);
    }
    return found;
  };
  // which event each consumer span handled, and in which group, for the step that follows it
  const handled = new Map<string, string>();
  const groupOf = new Map<string, string>();
  for (const hop of response.hops) {
    if (hop.kind !== 'delivery' || hop.eventType === null) continue;
    const s = step(hop.eventType);
    handled.set(keyOf(hop.to), hop.eventType);
    groupOf.set(keyOf(hop.to), hop.consumerGroup ?? '');
    if (hop.fromService !== null && !s.producers.some((p) => p.service === hop.fromService)) s.producers.push({ service: hop.fromService, count: 1 });
    const group = hop.consumerGroup ?? '';
    if (!s.consumers.some((c) => c.service === hop.toService && c.group === group)) {
      s.consumers.push({
        group, service: hop.toService, count: 1, probability: 1, awaited: true, wait: once(hop.waitMs),
        untilHandled: once(hop.waitMs === null ? null : hop.waitMs + hop.processingMs), handling: once(hop.processingMs), attempts: 1, failedAttempts: 0,
        handled: 1, sentNext: 0, awaitsSend: false,
      });
    }
  }
  for (const hop of response.hops) {
    if (hop.kind !== 'step' || hop.eventType === null || hop.from === null) continue;
    const after = handled.get(keyOf(hop.from));
    const sent = step(hop.eventType);
    if (hop.fromService !== null && !sent.producers.some((p) => p.service === hop.fromService)) sent.producers.push({ service: hop.fromService, count: 1 });
    if (after === undefined) continue;
    // sent from inside the handling's span, as the collector counts it
    const sender = step(after).consumers.find((c) => c.service === hop.fromService && c.group === groupOf.get(keyOf(hop.from!)));
    if (sender !== undefined && (hop.joinedBy === 'parent' || hop.joinedBy === 'link')) sender.sentNext = 1;
    if (!step(after).transitions.some((t) => t.eventType === hop.eventType)) {
      step(after).transitions.push({ eventType: hop.eventType, count: 1, probability: 1, latency: once(null) });
    }
  }
  const services = new Set<string>();
  for (const s of steps.values()) {
    for (const p of s.producers) services.add(`${p.service}|`);
    for (const c of s.consumers) services.add(`${c.service}|${c.group}`);
  }
  const nodes = steps.size + services.size;
  if (nodes > maxNodes) return { tooMany: nodes };
  return choreographyMap({
    model: { savedAtMs: null, windowMs: 0, minSamples: 1, expectProbability: 1, steps: [...steps.values()] },
    catalog: { atMs: 0, rateWindowMs: 0, events: [] },
    stuckAfter: new Map(),
  });
}
