/**
 * The query API of this slice: one trace's spans, and the spans of one business flow. JSON in the
 * shapes of `types.ts`; errors from the catalogue, answered by the server's error handler.
 */
import type { FastifyInstance } from 'fastify';
import { MAX_BUSINESS_KEY_CHARS } from '../core/business-key.ts';
import { cleanText } from '../core/stored-text.ts';
import type { SpanStore } from '../store/store.ts';
import { ERRORS, chsError } from './errors.ts';
import { toApiSpan } from './to-api-span.ts';
import type { FlowSpansResponse, TraceResponse } from './types.ts';

export interface QueryRoutesOptions {
  store: SpanStore;
  /** Most spans one answer holds, and the default `limit`. */
  maxQuerySpans: number;
}

const TRACE_ID = /^[0-9a-fA-F]{32}$/;

export async function queryRoutes(app: FastifyInstance, options: QueryRoutesOptions): Promise<void> {
  const { store, maxQuerySpans } = options;

  app.get<{ Params: { traceId: string } }>('/api/traces/:traceId', async (request): Promise<TraceResponse> => {
    const { traceId } = request.params;
    if (!TRACE_ID.test(traceId) || /^0+$/.test(traceId)) throw chsError(ERRORS.TRACE_ID_INVALID, { traceId: traceId.slice(0, 64) });
    const normalized = traceId.toLowerCase();
    const spans = await store.spansOfTrace(normalized);
    if (spans.length === 0) throw chsError(ERRORS.TRACE_NOT_FOUND, { traceId: normalized });
    return { traceId: normalized, spans: spans.map(toApiSpan) };
  });

  app.get<{ Params: { businessKey: string }; Querystring: { limit?: string } }>(
    '/api/flows/:businessKey/spans',
    async (request): Promise<FlowSpansResponse> => {
      const businessKey = cleanText(request.params.businessKey);
      if (businessKey.length === 0 || businessKey.length > MAX_BUSINESS_KEY_CHARS) {
        throw chsError(ERRORS.BUSINESS_KEY_INVALID, { maxChars: MAX_BUSINESS_KEY_CHARS, length: businessKey.length });
      }
      const limit = parseLimit(request.query.limit, maxQuerySpans);
      // one more than asked tells whether the answer was cut short
      const spans = await store.spansOfBusinessKey(businessKey, limit + 1);
      if (spans.length === 0) throw chsError(ERRORS.FLOW_NOT_FOUND, { businessKey: businessKey.slice(0, 64) });
      return { businessKey, spans: spans.slice(0, limit).map(toApiSpan), truncated: spans.length > limit };
    },
  );
}

function parseLimit(text: string | undefined, max: number): number {
  if (text === undefined) return max;
  const limit = Number(text);
  if (!/^\d+$/.test(text) || limit < 1 || limit > max) throw chsError(ERRORS.QUERY_LIMIT_INVALID, { max, limit: text.slice(0, 32) });
  return limit;
}
