/**
 * The catalogue's charts as data (pure): the step funnel from GET /api/stats/flows in the order of the
 * choreography (GET /api/model), its bars split into
 * flows that went on, those stuck there and those that failed there; and the end-to-end duration
 * histogram with its quantiles, over buckets in powers of two of milliseconds.
 */
import type { FlowStatsResponse, ModelResponse } from '../../../collector/src/api/types.ts';

export interface FunnelBar {
  eventType: string;
  reached: number;
  /** Reached and neither stuck nor failed there. */
  onward: number;
  stuck: number;
  failed: number;
}

/**
 * The funnel's steps in the choreography's order, as a person reads the chain: each event after the one it
 * follows (by its depth from the events nothing precedes, in the learned model), the more reached first
 * among equals; events the model does not know yet last. Without a model, by flows reached.
 */
export function funnelBars(stats: FlowStatsResponse, model?: ModelResponse, most = 20): FunnelBar[] {
  const depth = model === undefined ? new Map<string, number>() : chainDepths(model);
  const rank = (eventType: string) => depth.get(eventType) ?? Number.POSITIVE_INFINITY;
  return [...stats.funnel]
    .sort((a, b) => rank(a.eventType) - rank(b.eventType) || b.reached - a.reached || a.eventType.localeCompare(b.eventType))
    .slice(0, most)
    .map((step) => ({
      eventType: step.eventType, reached: step.reached, stuck: step.stuck, failed: step.failed,
      onward: Math.max(0, step.reached - step.stuck - step.failed),
    }));
}

/** Each event type's fewest steps from an event nothing precedes (a flow's start), along the learned transitions. */
export function chainDepths(model: ModelResponse): Map<string, number> {
  const next = new Map(model.steps.map((step) => [step.eventType, step.transitions.map((t) => t.eventType)]));
  const followers = new Set([...next.values()].flat());
  const depth = new Map<string, number>();
  let frontier = model.steps.map((step) => step.eventType).filter((eventType) => !followers.has(eventType));
  for (let d = 0; frontier.length > 0; d++) {
    const upcoming: string[] = [];
    for (const eventType of frontier) {
      if (depth.has(eventType)) continue;
      depth.set(eventType, d);
      upcoming.push(...(next.get(eventType) ?? []));
    }
    frontier = upcoming;
  }
  return depth;
}

export interface DurationBucket {
  /** The bucket holds durations in (fromMs, toMs]. */
  fromMs: number;
  toMs: number;
  flows: number;
}

/** Every bucket from the shortest to the longest seen, empty ones included, so the axis reads evenly. */
export function durationBuckets(stats: FlowStatsResponse): DurationBucket[] {
  const histogram = stats.duration.histogram;
  if (histogram.length === 0) return [];
  const counts = new Map(histogram.map((bucket) => [bucket.upToMs, bucket.flows]));
  const buckets: DurationBucket[] = [];
  for (let toMs = histogram[0]!.upToMs; toMs <= histogram.at(-1)!.upToMs; toMs *= 2) {
    buckets.push({ fromMs: toMs === 1 ? 0 : toMs / 2, toMs, flows: counts.get(toMs) ?? 0 });
  }
  return buckets;
}
