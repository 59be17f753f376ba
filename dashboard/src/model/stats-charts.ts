/**
 * The catalogue's charts as data (pure): the step funnel from GET /api/stats/flows, its bars split into
 * flows that went on, those stuck there and those that failed there; and the end-to-end duration
 * histogram with its quantiles, over buckets in powers of two of milliseconds.
 */
import type { FlowStatsResponse } from '../../../collector/src/api/types.ts';

export interface FunnelBar {
  eventType: string;
  reached: number;
  /** Reached and neither stuck nor failed there. */
  onward: number;
  stuck: number;
  failed: number;
}

export function funnelBars(stats: FlowStatsResponse, most = 20): FunnelBar[] {
  return stats.funnel.slice(0, most).map((step) => ({
    eventType: step.eventType, reached: step.reached, stuck: step.stuck, failed: step.failed,
    onward: Math.max(0, step.reached - step.stuck - step.failed),
  }));
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
