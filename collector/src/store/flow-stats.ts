/**
 * Flow statistics over a time window, from the flows table (any collector answers them): flows by
 * state, the end-to-end duration of those that ended (quantiles and a histogram in powers of two), and
 * the step funnel: per event type, how many flows reached it, and how many are stuck or failed there.
 * Plain PostgreSQL for both stores; a window is a scan of its flows (the activity index bounds it).
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

// a flow is in the window when it was active in it: its last event at or after the start, its first before the end
const IN_WINDOW = 'last_event_ms >= $1 AND first_event_ms < $2';
const BY_STATE = `SELECT state, count(*)::float8 AS flows FROM flows WHERE ${IN_WINDOW} GROUP BY state`;
const ENDED = `${IN_WINDOW} AND state IN ('completed', 'compensated')`;
const DURATIONS = `SELECT count(*)::float8 AS count,
  percentile_cont(ARRAY[0.5, 0.9, 0.99]::float8[]) WITHIN GROUP (ORDER BY (facts->>'durationMs')::float8) AS quantiles,
  max((facts->>'durationMs')::float8) AS max_ms
  FROM flows WHERE ${ENDED}`;
const HISTOGRAM = `SELECT power(2, greatest(0, ceil(ln(greatest((facts->>'durationMs')::float8, 1)) / ln(2))))::float8 AS up_to_ms,
  count(*)::float8 AS flows FROM flows WHERE ${ENDED} GROUP BY 1 ORDER BY 1`;
// a late or stalled flow is stuck after the event it waits on; a failed one failed handling (or sending) its event
const FUNNEL = `SELECT t.event_type, count(*)::float8 AS reached,
  count(*) FILTER (WHERE f.state IN ('late', 'stalled') AND f.explanation->>'afterEventType' = t.event_type)::float8 AS stuck,
  count(*) FILTER (WHERE f.state = 'failed' AND f.explanation->>'eventType' = t.event_type)::float8 AS failed
  FROM flows f, jsonb_array_elements_text(f.facts->'eventTypes') AS t(event_type)
  WHERE ${IN_WINDOW.replaceAll('last_event_ms', 'f.last_event_ms').replaceAll('first_event_ms', 'f.first_event_ms')}
  GROUP BY t.event_type ORDER BY reached DESC, t.event_type`;

export async function flowStats(read: ReadRows, startMs: number, endMs: number): Promise<FlowStats> {
  const window = [startMs, endMs];
  const states = await read<{ state: FlowState; flows: number }>('flows by state', BY_STATE, window);
  const [durations] = await read<{ count: number; quantiles: number[] | null; max_ms: number | null }>('flow durations', DURATIONS, window);
  const histogram = await read<{ up_to_ms: number; flows: number }>('the duration histogram', HISTOGRAM, window);
  const funnel = await read<{ event_type: string; reached: number; stuck: number; failed: number }>('the step funnel', FUNNEL, window);
  const [p50, p90, p99] = durations?.quantiles ?? [];
  return {
    byState: Object.fromEntries(states.map((row) => [row.state, row.flows])),
    durations: { count: durations?.count ?? 0, p50Ms: p50 ?? null, p90Ms: p90 ?? null, p99Ms: p99 ?? null, maxMs: durations?.max_ms ?? null },
    histogram: histogram.map((row) => ({ upToMs: row.up_to_ms, flows: row.flows })),
    funnel: funnel.map((row) => ({ eventType: row.event_type, reached: row.reached, stuck: row.stuck, failed: row.failed })),
  };
}
