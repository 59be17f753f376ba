/**
 * Flow statistics over a time window, from the flows table (any collector answers them): flows by
 * state, the end-to-end duration of those that ended (quantiles and a histogram in powers of two), and
 * the step funnel: per event type, how many flows reached it, and how many are stuck or failed there.
 * Plain PostgreSQL for both stores; a window is one scan of its flows (the activity index bounds it, and
 * the API bounds the window).
 */
import type { FlowState } from '../core/stalls.ts';
import type { ReadRows } from './queries.ts';

export interface FlowStats {
  byState: Partial<Record<FlowState, number>>;
  /** Flows that completed or were compensated. */
  durations: { count: number; p50Ms: number | null; p90Ms: number | null; p99Ms: number | null; maxMs: number | null };
  /** Ended flows by duration: `upToMs` is a power of two (1, 2, 4, … ms), each bucket holding the flows above half it. */
  histogram: { upToMs: number; flows: number }[];
  /** Per event type, most reached first. */
  funnel: { eventType: string; reached: number; stuck: number; failed: number }[];
}

// a flow is in the window when it was active in it: its last event at or after the start, its first before
// the end. One statement, so every figure is of the same snapshot (four would each see other flows); the
// window's flows are read once and aggregated four ways.
const FLOW_STATS = `WITH w AS MATERIALIZED (
  SELECT state, (facts->>'durationMs')::float8 AS duration_ms, facts->'eventTypes' AS event_types,
    explanation->>'afterEventType' AS after_event_type, explanation->>'eventType' AS failed_event_type
  FROM flows WHERE last_event_ms >= $1 AND first_event_ms < $2
), ended AS (
  SELECT duration_ms FROM w WHERE state IN ('completed', 'compensated')
)
SELECT
  (SELECT coalesce(jsonb_object_agg(state, flows), '{}') FROM (SELECT state, count(*)::float8 AS flows FROM w GROUP BY state) s) AS by_state,
  (SELECT jsonb_build_object('count', count(*)::float8,
     'quantiles', percentile_cont(ARRAY[0.5, 0.9, 0.99]::float8[]) WITHIN GROUP (ORDER BY duration_ms), 'maxMs', max(duration_ms)) FROM ended) AS durations,
  (SELECT coalesce(jsonb_agg(jsonb_build_object('upToMs', up_to_ms, 'flows', flows) ORDER BY up_to_ms), '[]') FROM (
     SELECT power(2, greatest(0, ceil(ln(greatest(duration_ms, 1)) / ln(2))))::float8 AS up_to_ms, count(*)::float8 AS flows FROM ended GROUP BY 1
   ) h) AS histogram,
  -- a late or stalled flow is stuck after the event it waits on; a failed one failed handling (or sending) its event
  (SELECT coalesce(jsonb_agg(jsonb_build_object('eventType', event_type, 'reached', reached, 'stuck', stuck, 'failed', failed)
     ORDER BY reached DESC, event_type), '[]') FROM (
     SELECT t.event_type, count(*)::float8 AS reached,
       count(*) FILTER (WHERE w.state IN ('late', 'stalled') AND w.after_event_type = t.event_type)::float8 AS stuck,
       count(*) FILTER (WHERE w.state = 'failed' AND w.failed_event_type = t.event_type)::float8 AS failed
     FROM w, jsonb_array_elements_text(w.event_types) AS t(event_type) GROUP BY t.event_type
   ) f) AS funnel`;

interface StatsRow {
  by_state: Partial<Record<FlowState, number>>;
  durations: { count: number; quantiles: number[] | null; maxMs: number | null };
  histogram: FlowStats['histogram'];
  funnel: FlowStats['funnel'];
}

export async function flowStats(read: ReadRows, startMs: number, endMs: number): Promise<FlowStats> {
  const [row] = await read<StatsRow>('flow statistics', FLOW_STATS, [startMs, endMs]);
  const [p50, p90, p99] = row?.durations.quantiles ?? [];
  return {
    byState: row?.by_state ?? {},
    durations: { count: row?.durations.count ?? 0, p50Ms: p50 ?? null, p90Ms: p90 ?? null, p99Ms: p99 ?? null, maxMs: row?.durations.maxMs ?? null },
    histogram: row?.histogram ?? [],
    funnel: row?.funnel ?? [],
  };
}
