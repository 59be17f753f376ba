import type { FastifyInstance } from 'fastify';
import type { SpanStore } from '../store/store.ts';
import type { HealthResponse, ReadyResponse } from './types.ts';

/** /healthz: the process answers. /readyz: so does the store (else StoreUnavailableError, a 503). */
export async function healthRoutes(app: FastifyInstance, options: { store: SpanStore }): Promise<void> {
  app.get('/healthz', async (): Promise<HealthResponse> => ({ status: 'ok' }));
  app.get('/readyz', async (): Promise<ReadyResponse> => {
    await options.store.ping();
    return { status: 'ready' };
  });
}
