/**
 * Applies the SQL files of ./migrations in name order, each once, each in its own transaction with
 * its row in `schema_migrations`. Plain PostgreSQL, so a PostgreSQL store can run the same files.
 */
import { readFileSync, readdirSync } from 'node:fs';

/** The part of a SQL client migrations need; PGlite has it, and so does a pg pool with a small adapter. */
export interface MigrationClient {
  exec(sql: string): Promise<unknown>;
  query<Row>(sql: string, params?: unknown[]): Promise<{ rows: Row[] }>;
  transaction<T>(run: (tx: Omit<MigrationClient, 'transaction'>) => Promise<T>): Promise<T>;
}

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

/** Brings the schema up to date; returns the names of the migrations it applied. */
export async function migrate(client: MigrationClient, migrations: Migration[] = readMigrations()): Promise<string[]> {
  await client.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`);
  const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
  const applied = new Set(rows.map((row) => row.version));
  const done: string[] = [];
  for (const migration of migrations) {
    if (applied.has(migration.version)) continue;
    await client.transaction(async (tx) => {
      await tx.exec(migration.sql);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
    });
    done.push(migration.name);
  }
  return done;
}
