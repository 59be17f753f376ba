/**
 * The span store on embedded PGlite (PostgreSQL compiled to WebAssembly) in a data directory.
 *
 * Durability: a write resolves after its transaction's COMMIT returned, and PGlite has then written
 * the WAL to the operating system, so spans survive the collector being killed (SIGKILL). PGlite runs
 * PostgreSQL with fsync off, so they may not survive the machine losing power: that is the PostgreSQL
 * store's job.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import { lockDataDir } from './data-dir-lock.ts';
import { assemblySession } from './flow-tables.ts';
import { migrate } from './migrate.ts';
import { createSqlSpanStore, type SqlSpanStore, type SqlSpanStoreOptions } from './sql-span-store.ts';

export interface PgliteStoreOptions extends SqlSpanStoreOptions {
  /** Keep the database here (created when missing). In memory when absent: gone when the store closes. */
  dataDir?: string;
}

export type PgliteStore = SqlSpanStore;

/** Opens the store; a data directory another collector uses is refused (DataDirInUseError) before anything is opened. */
export async function openPgliteStore(options: PgliteStoreOptions = {}): Promise<PgliteStore> {
  let unlock = () => {};
  if (options.dataDir !== undefined) {
    await initialiseDataDir(options.dataDir);
    unlock = lockDataDir(options.dataDir);
  }
  let db: PGlite | undefined;
  try {
    db = await PGlite.create(options.dataDir === undefined ? {} : { dataDir: options.dataDir });
    return await createPgliteStore(db, options, unlock);
  } catch (error) {
    await db?.close().catch(() => {});
    unlock();
    throw error;
  }
}

/** A store on an open PGlite (migrated first); closing the store closes the database, then runs `afterClose`. */
export async function createPgliteStore(db: PGlite, options: Omit<PgliteStoreOptions, 'dataDir'> = {}, afterClose = () => {}): Promise<PgliteStore> {
  await migrate(db);
  let assembling = false;
  return createSqlSpanStore({
    db,
    async close() {
      if (!db.closed) await db.close();
      afterClose();
    },
    exclusive: true, // a PGlite data directory is one process's
    // one database in this process: nothing to reconnect, so no gap
    async listen(channel, onPayload) {
      const unlisten = await db.listen(channel, onPayload);
      return async () => {
        if (!db.closed) await unlisten();
      };
    },
    // so this process assembles; one session at a time
    async openAssembly() {
      if (assembling) return null;
      assembling = true;
      return assemblySession(db, async () => {
        assembling = false;
      });
    },
  }, options);
}

const INITDB_SCRIPT = fileURLToPath(new URL('./pglite-initdb.mjs', import.meta.url));

/**
 * Creates the database cluster in `dataDir` unless one is there, in a child process: initdb grows
 * PGlite's WebAssembly memory to about 800 MiB, which this process would keep for ever (twice the
 * collector's footprint under load). It is built in a sibling directory and renamed into place, so a
 * collector stopped halfway leaves no half-made cluster behind, only a leftover the next start removes.
 */
async function initialiseDataDir(dataDir: string): Promise<void> {
  if (existsSync(join(dataDir, 'PG_VERSION'))) return;
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0) {
    throw new Error(`${dataDir} is neither empty nor a PGlite data directory (it has no PG_VERSION): give an empty or new directory`);
  }
  const parent = dirname(dataDir);
  mkdirSync(parent, { recursive: true });
  for (const leftover of readdirSync(parent).filter((name) => name.startsWith(`${basename(dataDir)}.initdb-`))) {
    rmSync(join(parent, leftover), { recursive: true, force: true });
  }
  const building = join(parent, `${basename(dataDir)}.initdb-${process.pid}`);
  try {
    await promisify(execFile)(process.execPath, [INITDB_SCRIPT, building], { timeout: 120_000 });
  } catch (error) {
    rmSync(building, { recursive: true, force: true });
    const detail = (error as { stderr?: string }).stderr?.trim() || (error as Error).message;
    throw new Error(`could not create the PGlite database in ${dataDir}: ${detail}`);
  }
  renameSync(building, dataDir); // replaces an empty directory in one step
}
