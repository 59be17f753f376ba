import type { FastifyInstance } from 'fastify';
import type { CollectorMetrics } from './metrics.ts';

export const METRICS_PATH = '/metrics';

/** GET /metrics: the Prometheus text exposition. */
export async function metricsRoute(app: FastifyInstance, options: { metrics: CollectorMetrics }): Promise<void> {
  app.get(METRICS_PATH, async (_request, reply) => {
    const { contentType, text } = await options.metrics.render();
    return reply.type(contentType).send(text);
  });
}

/** Counts every answer of `app` (the root: every route and every 404) by method, route and status. */
export function observeRequests(app: FastifyInstance, metrics: CollectorMetrics): void {
  app.addHook('onResponse', async (request, reply) => {
    metrics.request(request.method, request.routeOptions.url, reply.statusCode, reply.elapsedTime);
  });
}
