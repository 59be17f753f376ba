/**
 * Flow statistics: GET /api/stats/flows, over a window of activity (default the last hour). Computed by
 * the store from the flows table, so any collector answers the same.
 */
import type { FastifyInstance } from 'fastify';
import { FLOW_STATES } from '../core/stalls.ts';
import type { SpanStore } from '../store/store.ts';
import { ERRORS, chsError } from './errors.ts';
import { errorResponses, queryString, responseObject, timeParameter } from './schemas.ts';
import { parseTime } from './search-query.ts';
import type { ApiFlowState, FlowStatsResponse } from './types.ts';

/** The window when no start is given: the hour before `end`. */
const DEFAULT_WINDOW_MS = 3_600_000;
/** The widest window: each ask is a scan of its flows, and flows are kept for the retention time (a week by default). */
export const MAX_STATS_WINDOW_MS = 31 * 86_400_000;

const count = { type: 'number' };
const nullableMs = { type: ['number', 'null'] };

export async function statsRoutes(app: FastifyInstance, options: { store: SpanStore }): Promise<void> {
  app.get<{ Querystring: { start?: string; end?: string } }>('/api/stats/flows', {
    schema: {
      tags: ['flows'],
      summary: 'Flow statistics: states, end-to-end durations, the step funnel',
      description: 'Flows active in [start, end) (default: the hour before end, end now; at most 31 days): how many are in each state; how long those '
        + 'that completed or were compensated took, as quantiles and a histogram in powers of two of milliseconds; and per event type '
        + 'how many flows reached it and how many are stuck (late or stalled waiting after it) or failed there, the most reached first.',
      querystring: queryString({ start: timeParameter('flows active at or after'), end: timeParameter('flows active before (default now)') }),
      response: {
        200: responseObject({
          startMs: count,
          endMs: count,
          byState: responseObject(Object.fromEntries(FLOW_STATES.map((state) => [state, count]))),
          duration: responseObject({
            count, p50Ms: nullableMs, p90Ms: nullableMs, p99Ms: nullableMs, maxMs: nullableMs,
            histogram: { type: 'array', items: responseObject({ upToMs: count, flows: count }) },
          }),
          funnel: { type: 'array', items: responseObject({ eventType: { type: 'string' }, reached: count, stuck: count, failed: count }) },
        }, 'the statistics'),
        ...errorResponses(ERRORS.QUERY_TIME_INVALID),
      },
    },
  }, async (request): Promise<FlowStatsResponse> => {
    const endMs = request.query.end === undefined ? Date.now() : parseTime('end', request.query.end);
    const startMs = request.query.start === undefined ? endMs - DEFAULT_WINDOW_MS : parseTime('start', request.query.start);
    if (startMs >= endMs) throw chsError(ERRORS.QUERY_TIME_INVALID, { detail: `start (${startMs}) is not before end (${endMs})` });
    if (endMs - startMs > MAX_STATS_WINDOW_MS) {
      throw chsError(ERRORS.QUERY_TIME_INVALID, { detail: `the window is ${endMs - startMs} ms, over the ${MAX_STATS_WINDOW_MS} ms (31 days) statistics take` });
    }
    const stats = await options.store.flows.flowStats(startMs, endMs);
    const byState = Object.fromEntries(FLOW_STATES.map((state) => [state, stats.byState[state] ?? 0])) as Record<ApiFlowState, number>;
    return { startMs, endMs, byState, duration: { ...stats.durations, histogram: stats.histogram }, funnel: stats.funnel };
  });
}
