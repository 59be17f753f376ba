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
import { spanKey, type SpanRecord } from '../core/span.ts';
import { GroupCommitter, type GroupCommitOptions, type GroupCommitStats } from './group-commit.ts';
import { migrate } from './migrate.ts';
import { StoreRejectedDataError, StoreUnavailableError, type SpanStore, type WriteResult } from './store.ts';

export interface PgliteStoreOptions extends GroupCommitOptions {
  /** Keep the database here (created when missing). In memory when absent: gone when the store closes. */
  dataDir?: string;
  /** How long `ping` waits for the database before calling it unavailable. Default 2000. */
  pingTimeoutMs?: number;
}

export interface PgliteStore extends SpanStore {
  /** How group commit has gone so far: transactions, requests, the largest group. */
  readonly commitStats: GroupCommitStats;
}

/** Spans per INSERT statement; a transaction runs as many statements as its group needs. */
const SPANS_PER_STATEMENT = 1_000;

// The columns come out of the record itself, so there is one shape to keep in step: core/span.ts.
const INSERT_SPANS = `
WITH input AS (
  SELECT value AS record FROM jsonb_array_elements($1::text::jsonb)
), inserted AS (
  INSERT INTO spans (trace_id, span_id, parent_span_id, service_name, name, kind, status_code,
                     start_time, end_time, business_key, record)
  SELECT record->>'traceId', record->>'spanId', record->>'parentSpanId', record->>'serviceName',
         record->>'name', record->>'kind', record->'status'->>'code',
         to_timestamp((record->>'startTimeMs')::float8 / 1000), to_timestamp((record->>'endTimeMs')::float8 / 1000),
         record->>'businessKey', record
  FROM input
  ON CONFLICT (trace_id, span_id) DO NOTHING
  RETURNING trace_id, span_id, record
), links AS (
  INSERT INTO span_links (trace_id, span_id, link_index, linked_trace_id, linked_span_id)
  SELECT inserted.trace_id, inserted.span_id, link.position - 1, link.value->>'traceId', link.value->>'spanId'
  FROM inserted, jsonb_array_elements(inserted.record->'links') WITH ORDINALITY AS link(value, position)
  ON CONFLICT DO NOTHING
)
SELECT trace_id || '/' || span_id AS key FROM inserted`; // spanKey()'s form

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
  const pingTimeoutMs = options.pingTimeoutMs ?? 2_000;
  const committer = new GroupCommitter<SpanRecord, WriteResult>((requests) => commitGroup(db, requests), options);

  async function read(what: string, sql: string, params: unknown[]): Promise<SpanRecord[]> {
    try {
      const { rows } = await db.query<{ record: SpanRecord }>(sql, params);
      return rows.map((row) => row.record);
    } catch (error) {
      throw new StoreUnavailableError(`could not read ${what}: ${describe(error)}`, { cause: error });
    }
  }

  return {
    writeSpans: (spans) => (spans.length === 0 ? Promise.resolve({ stored: 0, duplicates: 0 }) : committer.submit(spans)),
    spansOfTrace: (traceId) =>
      read('a trace', 'SELECT record FROM spans WHERE trace_id = $1 ORDER BY start_time, span_id', [traceId]),
    spansOfBusinessKey: (businessKey, limit) =>
      read('a flow', 'SELECT record FROM spans WHERE business_key = $1 ORDER BY start_time, trace_id, span_id LIMIT $2', [businessKey, limit]),
    spansLinkingTo: (traceId, spanId) =>
      read('links', `SELECT s.record FROM span_links l JOIN spans s ON s.trace_id = l.trace_id AND s.span_id = l.span_id
                     WHERE l.linked_trace_id = $1 AND l.linked_span_id = $2 ORDER BY s.start_time, s.trace_id, s.span_id`, [traceId, spanId]),
    async ping() {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${pingTimeoutMs} ms`)), pingTimeoutMs);
      });
      try {
        await Promise.race([db.query('SELECT 1'), timeout]);
      } catch (error) {
        throw new StoreUnavailableError(`the database does not answer: ${describe(error)}`, { cause: error });
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      await committer.close();
      if (!db.closed) await db.close();
    },
    get commitStats() {
      return committer.stats;
    },
  };
}

async function commitGroup(db: PGlite, requests: readonly (readonly SpanRecord[])[]): Promise<WriteResult[]> {
  const all = requests.flat();
  let inserted: Set<string>;
  try {
    inserted = await db.transaction(async (tx) => {
      const keys = new Set<string>();
      for (let from = 0; from < all.length; from += SPANS_PER_STATEMENT) {
        const chunk = all.slice(from, from + SPANS_PER_STATEMENT);
        const { rows } = await tx.query<{ key: string }>(INSERT_SPANS, [JSON.stringify(chunk)]);
        for (const row of rows) keys.add(row.key);
      }
      return keys;
    });
  } catch (error) {
    throw classify(error);
  }
  // a span sent twice in one group counts as stored for the first request that carried it
  return requests.map((spans) => {
    let stored = 0;
    for (const span of spans) {
      if (inserted.delete(spanKey(span))) stored += 1;
    }
    return { stored, duplicates: spans.length - stored };
  });
}

/** SQLSTATE classes 22 (data exception) and 54 (program limit exceeded) blame the data; the rest, the store. */
function classify(error: unknown): Error {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && /^(22|54)/.test(code)) {
    return new StoreRejectedDataError(describe(error));
  }
  return new StoreUnavailableError(`could not commit: ${describe(error)}`);
}

// PGlite's errors carry the query and its (possibly megabytes of) parameters: keep only the message,
// and no `cause` on write errors, lest a log line print a whole batch.
function describe(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' ? `${message} (SQLSTATE ${code})` : message;
}
