/**
 * The span store on embedded PGlite (PostgreSQL compiled to WebAssembly) in a data directory.
 *
 * Durability: a write resolves after its transaction's COMMIT returned, and PGlite has then written
 * the WAL to the operating system, so spans survive the collector being killed (SIGKILL). PGlite runs
 * PostgreSQL with fsync off, so they may not survive the machine losing power: that is the PostgreSQL
 * store's job.
 */
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { migrate } from './migrate.ts';
import { createSqlSpanStore, type SqlSpanStore, type SqlSpanStoreOptions } from './sql-span-store.ts';

export interface PgliteStoreOptions extends SqlSpanStoreOptions {
  /** Keep the database here (created when missing). In memory when absent: gone when the store closes. */
  dataDir?: string;
}

export type PgliteStore = SqlSpanStore;

export async function openPgliteStore(options: PgliteStoreOptions = {}): Promise<PgliteStore> {
  if (options.dataDir !== undefined) mkdirSync(options.dataDir, { recursive: true });
  const db = await PGlite.create(options.dataDir === undefined ? {} : { dataDir: options.dataDir });
  try {
    return await createPgliteStore(db, options);
  } catch (error) {
    await db.close().catch(() => {});
    throw error;
  }
}

/** A store on an open PGlite (migrated first); closing the store closes the database. */
export async function createPgliteStore(db: PGlite, options: Omit<PgliteStoreOptions, 'dataDir'> = {}): Promise<PgliteStore> {
  await migrate(db);
  return createSqlSpanStore(db, async () => {
    if (!db.closed) await db.close();
  }, options);
}
