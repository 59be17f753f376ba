/**
 * The two stores the suites run against, each opened fresh for one test: PGlite in a temp data
 * directory, PostgreSQL in a database of its own on the test cluster. `forEachStore` runs a suite once
 * per store.
 *
 * The cluster's URL comes from CHOREOSCOPE_TEST_DATABASE_URL, which `npm test` (scripts/test.mjs) sets
 * after starting a throwaway cluster. A test file run on its own starts one itself (scripts/postgres.mjs)
 * and removes it when the process exits; under CI a missing URL fails the tests instead.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { startPostgresCluster } from '../../scripts/postgres.mjs';
import { createPgliteStore } from '../src/store/pglite-store.ts';
import { openPostgresStore } from '../src/store/postgres-store.ts';
import type { SqlSpanStore, SqlSpanStoreOptions } from '../src/store/sql-span-store.ts';
import { freshDataDir, removeDir } from './helpers.ts';

export interface StoreKind {
  name: 'PGlite' | 'PostgreSQL';
  /** A new, empty, migrated store of this kind. */
  open(options?: SqlSpanStoreOptions): Promise<TestStore>;
}

export interface TestStore {
  store: SqlSpanStore;
  /** The PostgreSQL store's database, for a second collector on it; undefined for PGlite. */
  databaseUrl?: string;
  /** Holds the store's writes back (another transaction locks `spans`) until the returned function is called. */
  blockWrites(): Promise<() => Promise<void>>;
  /** Closes the store (if the test has not) and deletes its data. */
  dispose(): Promise<void>;
}

export const pgliteStores: StoreKind = {
  name: 'PGlite',
  async open(options) {
    const dataDir = await freshDataDir();
    const db = await PGlite.create({ dataDir });
    const store = await createPgliteStore(db, options);
    return {
      store,
      async blockWrites() {
        let release!: () => void;
        const held = db.transaction(() => new Promise<void>((resolve) => (release = resolve))); // PGlite runs one at a time
        return async () => {
          release();
          await held;
        };
      },
      async dispose() {
        await store.close();
        removeDir(join(dataDir, '..'));
      },
    };
  },
};

export const postgresStores: StoreKind = {
  name: 'PostgreSQL',
  async open(options) {
    const databaseUrl = await freshDatabase();
    const store = await openPostgresStore({ ...options, databaseUrl, maxConnections: 4 });
    return {
      store,
      databaseUrl,
      async blockWrites() {
        const client = new pg.Client(databaseUrl);
        await client.connect();
        await client.query('BEGIN');
        await client.query('LOCK TABLE spans IN SHARE MODE'); // reads pass, inserts wait
        return async () => {
          await client.query('COMMIT');
          await client.end();
        };
      },
      async dispose() {
        await store.close();
        await dropDatabase(databaseUrl);
      },
    };
  },
};

/** Where the collector's CLI keeps its spans, new for each use: the flags that point it there. */
export interface CliStore {
  name: 'PGlite' | 'PostgreSQL';
  open(): Promise<{ args: string[]; dispose(): Promise<void> }>;
}

export const cliStores: CliStore[] = [
  {
    name: 'PGlite',
    async open() {
      const dataDir = await freshDataDir();
      return { args: ['--data-dir', dataDir], dispose: async () => removeDir(join(dataDir, '..')) };
    },
  },
  {
    name: 'PostgreSQL',
    async open() {
      const databaseUrl = await freshDatabase();
      return { args: ['--database-url', databaseUrl], dispose: () => dropDatabase(databaseUrl) };
    },
  },
];

/** Runs `suite` in a describe block per store: 'on PGlite', 'on PostgreSQL'. */
export function forEachStore(suite: (kind: StoreKind) => void): void {
  for (const kind of [pgliteStores, postgresStores]) describe(`on ${kind.name}`, () => suite(kind));
}

let cluster: Promise<string> | undefined;

/** The test cluster's URL: CHOREOSCOPE_TEST_DATABASE_URL, else (outside CI) a cluster of this process's own. */
export function testDatabaseUrl(): Promise<string> {
  const url = process.env.CHOREOSCOPE_TEST_DATABASE_URL;
  if (url) return Promise.resolve(url);
  if (process.env.CI) {
    return Promise.reject(new Error('CHOREOSCOPE_TEST_DATABASE_URL is not set: run the tests with `npm test` (scripts/test.mjs), which starts a PostgreSQL cluster and sets it'));
  }
  cluster ??= (async () => {
    process.stderr.write('CHOREOSCOPE_TEST_DATABASE_URL is not set: starting a throwaway PostgreSQL cluster for this file (scripts/postgres.mjs)\n');
    const started = await startPostgresCluster({ install: false });
    process.once('exit', () => started.remove());
    return started.url;
  })();
  return cluster;
}

/** A new database on the test cluster; its URL. */
export async function freshDatabase(): Promise<string> {
  const url = new URL(await testDatabaseUrl());
  const name = `choreoscope_test_${randomBytes(6).toString('hex')}`;
  await onServer(url.href, `CREATE DATABASE ${name}`);
  url.pathname = `/${name}`;
  return url.href;
}

export async function dropDatabase(databaseUrl: string): Promise<void> {
  const name = new URL(databaseUrl).pathname.slice(1);
  await onServer(await testDatabaseUrl(), `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}

async function onServer(url: string, sql: string): Promise<void> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
