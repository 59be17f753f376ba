export { buildServer, type ServerOptions } from './server.ts';
export { openPgliteStore, createPgliteStore, type PgliteStore, type PgliteStoreOptions } from './store/pglite-store.ts';
export type { SpanStore, WriteResult } from './store/store.ts';
export type { SpanRecord } from './core/span.ts';
