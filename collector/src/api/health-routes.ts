import type { FastifyInstance } from 'fastify';
import type { SpanStore } from '../store/store.ts';
import type { HealthResponse, ReadyResponse } from './types.ts';

export const HEALTH_PATH = '/healthz';
export const READY_PATH = '/readyz';

/** /healthz: the process answers. /readyz: so does the store (else StoreUnavailableError, a 503). */
export async function healthRoutes(app: FastifyInstance, options: { store: SpanStore }): Promise<void> {
  app.get(HEALTH_PATH, async (): Promise<HealthResponse> => ({ status: 'ok' }));
  app.get(READY_PATH, async (): Promise<ReadyResponse> => {
    await options.store.ping();
    return { status: 'ready' };
  });
}
