/**
 * A span's links, both ways: who consumed this producer span (the spans linking to it, through
 * span_links' index by linked span), and which producers this consumer span read (its own links'
 * targets that are stored, through span_links' key).
 */
import type { FastifyInstance } from 'fastify';
import type { SpanStore } from '../store/store.ts';
import { ERRORS } from './errors.ts';
import { errorResponses, pathParameters, responseObject, spanIdParameter, spanList, traceIdParameter } from './schemas.ts';
import { toApiSpan } from './to-api-span.ts';
import type { SpanLinksResponse } from './types.ts';

export async function linkRoutes(app: FastifyInstance, options: { store: SpanStore }): Promise<void> {
  const { store } = options;

  app.get<{ Params: { traceId: string; spanId: string } }>('/api/links/:traceId/:spanId', {
    schema: {
      tags: ['links'],
      summary: "A span's links, both ways",
      description: '`linkedBy`: the spans that link to this span (who consumed this producer span). `linksTo`: the stored spans '
        + 'this span links to (which producers this consumer span read). Each by start time; empty when there is none '
        + '(or none stored yet), also when the span itself is not stored.',
      params: pathParameters({ traceId: traceIdParameter, spanId: spanIdParameter }),
      response: {
        200: responseObject({ traceId: { type: 'string' }, spanId: { type: 'string' }, linkedBy: spanList, linksTo: spanList }, 'the spans linked either way'),
        ...errorResponses(ERRORS.TRACE_ID_INVALID, ERRORS.SPAN_ID_INVALID),
      },
    },
  }, async (request): Promise<SpanLinksResponse> => {
    const traceId = request.params.traceId.toLowerCase();
    const spanId = request.params.spanId.toLowerCase();
    const [linkedBy, linksTo] = await Promise.all([store.spansLinkingTo(traceId, spanId), store.spansLinkedFrom(traceId, spanId)]);
    return { traceId, spanId, linkedBy: linkedBy.map(toApiSpan), linksTo: linksTo.map(toApiSpan) };
  });
}
