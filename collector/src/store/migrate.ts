/**
 * Applies the SQL files of ./migrations in name order, each once, recorded in `schema_migrations`: all
 * that are pending in one transaction, so a schema is either as it was or up to date. Plain PostgreSQL,
 * run alike by the PGlite and the PostgreSQL store.
 */
import { readFileSync, readdirSync } from 'node:fs';
import type { SqlClient } from './sql-client.ts';

export interface Migration {
  /** The number the file name starts with: 001_spans.sql is version 1. */
  version: number;
  name: string;
  sql: string;
}

const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);

export function readMigrations(dir: URL = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((file) => /^\d+_[\w-]+\.sql$/.test(file))
    .sort()
    .map((file) => ({
      version: Number.parseInt(file, 10),
      name: file.replace(/\.sql$/, ''),
      sql: readFileSync(new URL(file, dir), 'utf8'),
    }));
}

/** An advisory lock's key, Choreoscope's own: collectors starting together on one database take turns. */
const MIGRATION_LOCK = 0x43686f72656f; // "Choreo"

/** Brings the schema up to date; returns the names of the migrations it applied. */
export async function migrate(client: SqlClient, migrations: Migration[] = readMigrations()): Promise<string[]> {
  return client.transaction(async (tx) => {
    // held until this transaction ends: the second collector reads the first one's rows, then has nothing to do
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await tx.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    integer PRIMARY KEY,
      name       text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await tx.query<{ version: number }>('SELECT version FROM schema_migrations');
    const applied = new Set(rows.map((row) => row.version));
    const done: string[] = [];
    for (const migration of migrations) {
      if (applied.has(migration.version)) continue;
      await tx.exec(migration.sql);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
      done.push(migration.name);
    }
    return done;
  });
}
