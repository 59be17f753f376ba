/** The services seen, and each one's operations (span names with their kinds): what a search can filter on. */
import type { FastifyInstance } from 'fastify';
import { cleanText } from '../core/stored-text.ts';
import type { SpanStore } from '../store/store.ts';
import { ERRORS, chsError } from './errors.ts';
import { errorResponses, pathParameters, responseObject, serviceParameter, spanKind } from './schemas.ts';
import type { OperationsResponse, ServicesResponse } from './types.ts';

export async function serviceRoutes(app: FastifyInstance, options: { store: SpanStore }): Promise<void> {
  const { store } = options;

  app.get('/api/services', {
    schema: {
      tags: ['services'],
      summary: 'The services seen',
      description: 'Every service that sent spans, by name, with its span count and the latest end time of its spans.',
      response: {
        200: responseObject({
          services: {
            type: 'array',
            items: responseObject({
              name: { type: 'string' },
              spanCount: { type: 'integer' },
              lastSeenMs: { type: 'number', description: 'the latest end time of its spans, in milliseconds since the Unix epoch' },
            }),
          },
        }, 'the services'),
        ...errorResponses(),
      },
    },
  }, async (): Promise<ServicesResponse> => {
    const services = await store.services();
    return { services: services.map((s) => ({ name: s.serviceName, spanCount: s.spanCount, lastSeenMs: s.lastSeenMs })) };
  });

  app.get<{ Params: { service: string } }>('/api/services/:service/operations', {
    schema: {
      tags: ['services'],
      summary: "A service's operations",
      description: "The service's span names, each with the kinds its spans had and how many, by name then kind.",
      params: pathParameters({ service: serviceParameter }),
      response: {
        200: responseObject({
          service: { type: 'string' },
          operations: {
            type: 'array',
            items: responseObject({ name: { type: 'string' }, kind: spanKind, spanCount: { type: 'integer' } }),
          },
        }, "the service's operations"),
        ...errorResponses(ERRORS.PARAMETER_INVALID, ERRORS.SERVICE_NOT_FOUND),
      },
    },
  }, async (request): Promise<OperationsResponse> => {
    const service = cleanText(request.params.service);
    const operations = await store.operationsOfService(service);
    if (operations.length === 0) throw chsError(ERRORS.SERVICE_NOT_FOUND, { service: service.slice(0, 64) });
    return { service, operations: operations.map(({ name, kind, spanCount }) => ({ name, kind, spanCount })) };
  });
}
