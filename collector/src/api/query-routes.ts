/**
 * The query API under /api as one plugin: the OpenAPI document generated from its route schemas,
 * validation failures answered as catalogue errors, answers serialized as they are, and the routes.
 * JSON in the shapes of `types.ts`; errors are answered by the server's error handler.
 */
import swagger from '@fastify/swagger';
import type { FastifyError, FastifyInstance } from 'fastify';
import type { DescribeOptions } from '../core/describe-flow.ts';
import type { SpanStore } from '../store/store.ts';
import { alertRoutes } from './alert-routes.ts';
import { catalogRoutes } from './catalog-routes.ts';
import { flowRoutes } from './flow-routes.ts';
import { linkRoutes } from './link-routes.ts';
import { liveRoutes } from './live-routes.ts';
import { openApiOptions, openApiRoute } from './openapi.ts';
import { nonFiniteParameterError, toParameterError } from './parameter-errors.ts';
import type { ModelOptions } from '../core/model.ts';
import { apiSpanSchema } from './schemas.ts';
import { serviceRoutes } from './service-routes.ts';
import { spanRoutes } from './span-routes.ts';
import { statsRoutes } from './stats-routes.ts';

export interface QueryRoutesOptions {
  store: SpanStore;
  /** How flows are described: the flow worker's options. */
  describeFlows: DescribeOptions;
  /** How the choreography is learned: the flow worker's options. */
  flowModel?: ModelOptions;
}

export async function queryRoutes(app: FastifyInstance, options: QueryRoutesOptions): Promise<void> {
  await app.register(swagger, openApiOptions); // first: it documents the routes registered after it
  app.addSchema(apiSpanSchema);
  // the response schemas document; answers are the types.ts objects as they are, nothing dropped
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  // a parameter its schema refused becomes its catalogue error; the server's handler answers it
  app.setErrorHandler((error: FastifyError, request) => {
    throw toParameterError(error, request) ?? error;
  });
  app.addHook('preHandler', async (request) => {
    const error = nonFiniteParameterError(request);
    if (error) throw error;
  });

  await app.register(spanRoutes, options);
  await app.register(serviceRoutes, options);
  await app.register(linkRoutes, options);
  await app.register(flowRoutes, { store: options.store, describe: options.describeFlows, model: options.flowModel });
  await app.register(catalogRoutes, options);
  await app.register(alertRoutes, options);
  await app.register(statsRoutes, options);
  await app.register(liveRoutes, options);
  await app.register(openApiRoute);
}
