// What the spans take once stored: the span tables as PostgreSQL counts them (`pg_total_relation_size`:
// heap, TOAST and indexes), and the data directory's growth on disk (WAL included).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';

export interface StoredSpans {
  spans: number;
  /** spans and span_links, with their indexes and TOAST */
  tableBytes: number;
}

const SIZE_QUERY = `SELECT (SELECT count(*) FROM spans)::float8 AS spans,
  (pg_total_relation_size('spans') + pg_total_relation_size('span_links'))::float8 AS bytes`;

/** Opens the (closed) PGlite data directory the collector wrote. */
export async function pgliteStoredSpans(dataDir: string): Promise<StoredSpans> {
  const db = await PGlite.create({ dataDir });
  try {
    const { rows } = await db.query<{ spans: number; bytes: number }>(SIZE_QUERY);
    return { spans: rows[0]!.spans, tableBytes: rows[0]!.bytes };
  } finally {
    await db.close();
  }
}

export async function postgresStoredSpans(databaseUrl: string): Promise<StoredSpans> {
  const client = new pg.Client(databaseUrl);
  await client.connect();
  try {
    const { rows } = await client.query<{ spans: number; bytes: number }>(SIZE_QUERY);
    return { spans: rows[0]!.spans, tableBytes: rows[0]!.bytes };
  } finally {
    await client.end();
  }
}

/** Bytes allocated on disk under `dir` (blocks, not apparent sizes: preallocated WAL counts as written). */
export function dirBytes(dir: string): number {
  let bytes = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) bytes += statSync(join(entry.parentPath, entry.name)).blocks * 512;
  }
  return bytes;
}
