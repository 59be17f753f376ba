import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { migrate, readMigrations } from '../src/store/migrate.ts';
import { openPostgresStore } from '../src/store/postgres-store.ts';
import { freshDataDir, removeDir } from './helpers.ts';
import { dropDatabase, freshDatabase } from './stores.ts';

test('collectors starting together on one PostgreSQL database migrate it once, one after the other', async () => {
  const databaseUrl = await freshDatabase();
  try {
    // without the advisory lock, two of them would both CREATE TABLE spans and all but one fail
    const stores = await Promise.all(Array.from({ length: 4 }, () => openPostgresStore({ databaseUrl })));
    await Promise.all(stores.map((store) => store.close()));

    const client = new pg.Client(databaseUrl);
    await client.connect();
    try {
      const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      assert.deepEqual(rows.map((row) => row.version), readMigrations().map((m) => m.version));
    } finally {
      await client.end();
    }
  } finally {
    await dropDatabase(databaseUrl);
  }
});

test('pending migrations apply in one transaction: a failing one leaves the schema as it was, and each applies once', async () => {
  const dataDir = await freshDataDir();
  const db = await PGlite.create({ dataDir });
  try {
    const [first] = readMigrations();
    const broken = { version: 999, name: '999_broken', sql: 'CREATE TABLE nonsense (' };
    await assert.rejects(migrate(db, [first!, broken]), /syntax error/);
    const { rows } = await db.query<{ spans: string | null; migrations: string | null }>(
      "SELECT to_regclass('spans')::text AS spans, to_regclass('schema_migrations')::text AS migrations");
    assert.deepEqual(rows[0], { spans: null, migrations: null });

    assert.deepEqual(await migrate(db), readMigrations().map((m) => m.name));
    assert.deepEqual(await migrate(db), [], 'nothing is pending the second time');
  } finally {
    await db.close();
    removeDir(join(dataDir, '..'));
  }
});
