import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CollectorMetrics } from './metrics.ts';
import { requestTimedOut } from './request-timeouts.ts';

export const METRICS_PATH = '/metrics';

/** GET /metrics: the Prometheus text exposition. */
export async function metricsRoute(app: FastifyInstance, options: { metrics: CollectorMetrics }): Promise<void> {
  app.get(METRICS_PATH, async (_request, reply) => {
    const { contentType, text } = await options.metrics.render();
    return reply.type(contentType).send(text);
  });
}

/** What a request whose connection closed before its answer counts as: nginx's "client closed request". */
export const CLIENT_CLOSED_STATUS = 499;

/**
 * Counts every answer of `app` (the root: every route and every 404) by method, route and status; a
 * request whose connection closed first (onResponse never runs for it) as 408 when it ran out of time
 * (the client got a 408 from ops/request-timeouts.ts), else as 499.
 */
export function observeRequests(app: FastifyInstance, metrics: CollectorMetrics): void {
  const startedAt = new WeakMap<FastifyRequest, number>();
  app.addHook('onRequest', async (request) => {
    startedAt.set(request, performance.now());
  });
  app.addHook('onResponse', async (request, reply) => {
    metrics.request(request.method, request.routeOptions.url, reply.statusCode, reply.elapsedTime);
  });
  app.addHook('onRequestAbort', async (request) => {
    const elapsedMs = performance.now() - (startedAt.get(request) ?? performance.now());
    metrics.request(request.method, request.routeOptions.url, requestTimedOut(request) ? 408 : CLIENT_CLOSED_STATUS, elapsedMs);
  });
}
