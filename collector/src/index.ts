export { buildServer, type ServerOptions } from './server.ts';
export { CollectorMetrics } from './ops/metrics.ts';
export type { ForwardOptions } from './forwarding/forwarder.ts';
export { openPgliteStore, createPgliteStore, type PgliteStore, type PgliteStoreOptions } from './store/pglite-store.ts';
export { openPostgresStore, type PostgresStore, type PostgresStoreOptions } from './store/postgres-store.ts';
export type { SpanStore, WriteResult } from './store/store.ts';
export type { SpanRecord } from './core/span.ts';
