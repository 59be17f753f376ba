/**
 * The routes that answer spans: one trace, and the search (newest first, paged). Parameters are checked
 * by their JSON schemas (schemas.ts); a bad one is a 400 with its catalogue code (parameter-errors.ts).
 */
import type { FastifyInstance } from 'fastify';
import type { SpanPage } from '../store/span-search.ts';
import type { SpanStore } from '../store/store.ts';
import { encodeCursor } from './cursor.ts';
import { ERRORS, chsError } from './errors.ts';
import {
  attributeFiltersParameter, businessKeyParameter, cursorParameter, durationParameter, errorResponses, limitParameter, nextCursor,
  pathParameters, queryString, responseObject, serviceParameter, spanList, statusParameter, timeParameter, traceIdParameter,
} from './schemas.ts';
import { toSpanSearch, type SearchParameters } from './search-query.ts';
import { toApiSpan } from './to-api-span.ts';
import type { ApiCursor, ApiSpan, SpanSearchResponse, TraceResponse } from './types.ts';

export interface SpanRoutesOptions {
  store: SpanStore;
}

export const SEARCH_DEFAULT_LIMIT = 100;
export const SEARCH_MAX_LIMIT = 1000;

export async function spanRoutes(app: FastifyInstance, options: SpanRoutesOptions): Promise<void> {
  const { store } = options;

  app.get<{ Params: { traceId: string } }>('/api/traces/:traceId', {
    schema: {
      tags: ['spans'],
      summary: "A trace's spans",
      description: 'Every stored span of the trace, by start time.',
      params: pathParameters({ traceId: traceIdParameter }),
      response: {
        200: responseObject({ traceId: { type: 'string' }, spans: spanList }, "the trace's spans"),
        ...errorResponses(ERRORS.TRACE_ID_INVALID, ERRORS.TRACE_NOT_FOUND),
      },
    },
  }, async (request): Promise<TraceResponse> => {
    const traceId = request.params.traceId.toLowerCase();
    const spans = await store.spansOfTrace(traceId);
    if (spans.length === 0) throw chsError(ERRORS.TRACE_NOT_FOUND, { traceId });
    return { traceId, spans: spans.map(toApiSpan) };
  });

  app.get<{ Querystring: SearchParameters }>('/api/spans', {
    schema: {
      tags: ['spans'],
      summary: 'Search spans',
      description: 'The spans matching every filter given, newest first (by start time, then trace and span id), a page at a time. '
        + 'Pages continue from the last span of the previous one, so none repeats or is skipped while new spans arrive.',
      querystring: queryString({
        service: serviceParameter,
        operation: { type: 'string', minLength: 1, description: 'the span name' },
        attr: attributeFiltersParameter,
        start: timeParameter('spans starting at or after this'),
        end: timeParameter('spans starting before this'),
        minDurationMs: durationParameter('spans lasting at least this many milliseconds'),
        maxDurationMs: durationParameter('spans lasting at most this many milliseconds'),
        businessKey: businessKeyParameter,
        status: statusParameter,
        limit: limitParameter(SEARCH_MAX_LIMIT, SEARCH_DEFAULT_LIMIT),
        cursor: cursorParameter,
      }),
      response: {
        200: responseObject({ spans: spanList, nextCursor }, 'a page of matching spans'),
        ...errorResponses(ERRORS.QUERY_PARAMETER_UNKNOWN, ERRORS.PARAMETER_INVALID, ERRORS.ATTRIBUTE_FILTER_INVALID,
          ERRORS.QUERY_TIME_INVALID, ERRORS.BUSINESS_KEY_INVALID, ERRORS.QUERY_LIMIT_INVALID, ERRORS.QUERY_CURSOR_INVALID),
      },
    },
  }, async (request): Promise<SpanSearchResponse> => toApiPage(await store.searchSpans(toSpanSearch(request.query))));
}

function toApiPage(page: SpanPage): { spans: ApiSpan[]; nextCursor: ApiCursor | null } {
  return { spans: page.spans.map(toApiSpan), nextCursor: page.next === null ? null : encodeCursor(page.next) };
}
