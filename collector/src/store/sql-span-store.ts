/**
 * The span store over any SqlClient: the statements, the row mapping, group commit, the ping and what
 * a failure means. The PGlite and PostgreSQL stores share all of it and differ only in how they open
 * and close their database (pglite-store.ts, postgres-store.ts).
 */
import { spanKey, type SpanRecord } from '../core/span.ts';
import { alertTables } from './alert-tables.ts';
import { LiveFeed, type ListenOn } from './live-feed.ts';
import type { AssemblySession, QueuedListener } from './flow-store.ts';
import { enqueueForAssembly, flowReads } from './flow-tables.ts';
import { createForwardQueue, enqueueForwards, type ForwardBatch } from './forward-queue.ts';
import { GroupCommitter, type CommitRequest, type GroupCommitOptions, type GroupCommitStats } from './group-commit.ts';
import { readMethods } from './queries.ts';
import type { SqlClient, SqlSession } from './sql-client.ts';
import { StoreRejectedDataError, StoreUnavailableError, type SpanStore, type WriteResult } from './store.ts';

export interface SqlSpanStoreOptions extends GroupCommitOptions {
  /** How long `ping` waits for the database before calling it unavailable. Default 2000. */
  pingTimeoutMs?: number;
  /**
   * Queue each committed group's spans for flow assembly, in the transaction that stores them. Default
   * true. Every collector on one database must agree: spans stored without it are never assembled.
   */
  assembleFlows?: boolean;
}

/** How a concrete store opens, closes and shares its database. */
export interface SqlDatabase {
  db: SqlClient;
  /** Runs once every accepted write has settled, when the store closes. */
  close: () => Promise<void>;
  /** No other process uses the database (PGlite's data directory). */
  exclusive: boolean;
  /** The right to assemble flows, or null while another collector holds it (flow-store.ts). */
  openAssembly: () => Promise<AssemblySession | null>;
  /** LISTEN on a channel (the live feed), on a connection that stays open while it listens. */
  listen: ListenOn;
}

export interface SqlSpanStore extends SpanStore {
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

// Oldest first, the links with their span, in one statement: a round never leaves a link without its span.
// So do the span's flow membership and waiting references; a flow that lost a span is due to be described
// again, marked 0 so the flow worker loads it afresh (its anchor may be gone: it is then named after its
// earliest span left).
const DELETE_SPANS_STARTED_BEFORE = `
WITH doomed AS (
  SELECT trace_id, span_id FROM spans WHERE start_time < to_timestamp($1::float8 / 1000)
  ORDER BY start_time LIMIT $2
), links AS (
  DELETE FROM span_links l USING doomed d WHERE l.trace_id = d.trace_id AND l.span_id = d.span_id
), batches AS (
  DELETE FROM flow_batch_spans b USING doomed d WHERE b.trace_id = d.trace_id AND b.span_id = d.span_id
), pending AS (
  DELETE FROM flow_pending p USING doomed d WHERE p.referrer_trace_id = d.trace_id AND p.referrer_span_id = d.span_id
), members AS (
  DELETE FROM flow_members m USING doomed d WHERE m.trace_id = d.trace_id AND m.span_id = d.span_id RETURNING m.flow_id
), recheck AS (
  UPDATE flows f SET recheck_at_ms = 0 WHERE f.flow_id IN (SELECT flow_id FROM members)
)
DELETE FROM spans s USING doomed d WHERE s.trace_id = d.trace_id AND s.span_id = d.span_id
RETURNING 1`;

// A flow whose spans are all past the retention: gone with its members, points and waiting references,
// in one statement. Its stored last event may lag its newest span (facts are stored at most every
// describeEveryMs), so a flow with a span still within the retention stays whatever its facts say.
const DELETE_FLOWS_ENDED_BEFORE = `
WITH doomed AS (
  SELECT f.flow_id FROM flows f WHERE f.last_event_ms < $1
    AND NOT EXISTS (SELECT 1 FROM flow_members m JOIN spans s ON s.trace_id = m.trace_id AND s.span_id = m.span_id
                    WHERE m.flow_id = f.flow_id AND s.end_time >= to_timestamp($1::float8 / 1000))
  ORDER BY f.last_event_ms LIMIT $2
), pending AS (
  DELETE FROM flow_pending p USING flow_members m, doomed d
  WHERE m.flow_id = d.flow_id AND p.referrer_trace_id = m.trace_id AND p.referrer_span_id = m.span_id
), members AS (
  DELETE FROM flow_members m USING doomed d WHERE m.flow_id = d.flow_id
), points AS (
  DELETE FROM flow_points p USING doomed d WHERE p.flow_id = d.flow_id
)
DELETE FROM flows f USING doomed d WHERE f.flow_id = d.flow_id
RETURNING 1`;

/** A store on a migrated database. */
export function createSqlSpanStore(database: SqlDatabase, options: SqlSpanStoreOptions = {}): SqlSpanStore {
  const { db, exclusive } = database;
  const pingTimeoutMs = options.pingTimeoutMs ?? 2_000;
  const assembleFlows = options.assembleFlows ?? true;
  const listeners = new Set<QueuedListener>();
  const committer = new GroupCommitter<SpanRecord, WriteResult, ForwardBatch>(async (requests) => {
    const { results, queued } = await commitGroup(db, requests, assembleFlows);
    if (queued !== null) for (const listener of listeners) listener(queued.inboxId, queued.spans);
    return results;
  }, options);
  let closing: Promise<void> | undefined; // closing twice waits for the first close
  const live = new LiveFeed(database.listen);

  async function read<Row>(what: string, sql: string, params: unknown[]): Promise<Row[]> {
    try {
      return (await db.query<Row>(sql, params)).rows;
    } catch (error) {
      throw new StoreUnavailableError(`could not read ${what}: ${describe(error)}`, { cause: error });
    }
  }

  return {
    writeSpans: (spans, forward) => (spans.length === 0 ? Promise.resolve({ stored: 0, duplicates: 0 }) : committer.submit(spans, forward)),
    forwardQueue: createForwardQueue(db, { exclusive }),
    ...readMethods(read), // the statements of every read: queries.ts
    flows: {
      ...flowReads(read),
      openAssembly: database.openAssembly,
      onQueued(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    },
    alerts: alertTables(read),
    live,
    assemblesFlows: assembleFlows,
    async deleteSpansStartedBefore(cutoffMs, limit) {
      try {
        return (await db.query(DELETE_SPANS_STARTED_BEFORE, [cutoffMs, limit])).rows.length;
      } catch (error) {
        throw new StoreUnavailableError(`could not delete old spans: ${describe(error)}`, { cause: error });
      }
    },
    async deleteFlowsEndedBefore(cutoffMs, limit) {
      try {
        return (await db.query(DELETE_FLOWS_ENDED_BEFORE, [cutoffMs, limit])).rows.length;
      } catch (error) {
        throw new StoreUnavailableError(`could not delete old flows: ${describe(error)}`, { cause: error });
      }
    },
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
    close() {
      closing ??= committer.close().then(() => live.close()).then(database.close);
      return closing;
    },
    get commitStats() {
      return committer.stats;
    },
  };
}

interface Committed {
  results: WriteResult[];
  /** The inbox row the new spans were queued under, with them; null when none was new or flows are off. */
  queued: { inboxId: string; spans: SpanRecord[] } | null;
}

async function commitGroup(db: SqlClient, requests: readonly CommitRequest<SpanRecord, ForwardBatch>[], assembleFlows: boolean): Promise<Committed> {
  // in key order, so two collectors writing overlapping groups wait for each other instead of deadlocking
  const all = requests.flatMap((request) => request.items).sort((a, b) => compareKeys(spanKey(a), spanKey(b)));
  try {
    return await db.transaction(async (tx) => {
      const inserted = await insertSpans(tx, all);
      // assembled once committed, whoever assembles: the inbox row commits (or not) with the spans
      const inboxId = assembleFlows ? await enqueueForAssembly(tx, [...inserted]) : null;
      const seen = new Set<string>(); // a span sent twice in one group is queued once
      const queued = inboxId === null ? null : {
        inboxId,
        spans: all.filter((span) => {
          const key = spanKey(span);
          if (!inserted.has(key) || seen.has(key)) return false;
          seen.add(key);
          return true;
        }),
      };
      // a span sent twice in one group counts as stored for the first request that carried it
      const results = requests.map(({ items }) => {
        let stored = 0;
        for (const span of items) {
          if (inserted.delete(spanKey(span))) stored += 1;
        }
        return { stored, duplicates: items.length - stored };
      });
      // queued with the spans, in the same transaction: forwarded exactly when kept, even if killed next
      await enqueueForwards(tx, requests.flatMap(({ attachment }, index) => (attachment && results[index]!.stored > 0 ? [attachment] : [])));
      return { results, queued };
    });
  } catch (error) {
    throw classify(error);
  }
}

/** The keys of the spans new to the store. */
async function insertSpans(tx: SqlSession, spans: readonly SpanRecord[]): Promise<Set<string>> {
  const keys = new Set<string>();
  for (let from = 0; from < spans.length; from += SPANS_PER_STATEMENT) {
    const chunk = spans.slice(from, from + SPANS_PER_STATEMENT);
    const { rows } = await tx.query<{ key: string }>(INSERT_SPANS, [JSON.stringify(chunk)]);
    for (const row of rows) keys.add(row.key);
  }
  return keys;
}

const compareKeys = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** SQLSTATE classes 22 (data exception) and 54 (program limit exceeded) blame the data; the rest, the store. */
function classify(error: unknown): Error {
  const code = sqlState(error);
  if (code !== undefined && /^(22|54)/.test(code)) {
    return new StoreRejectedDataError(describe(error));
  }
  return new StoreUnavailableError(`could not commit: ${describe(error)}`);
}

// Errors may carry the query and its (possibly megabytes of) parameters (PGlite's do): keep only the
// message, and no `cause` on write errors, lest a log line print a whole batch.
function describe(error: unknown): string {
  const code = sqlState(error);
  let message = error instanceof Error ? error.message : String(error);
  // a connection refused on every address of a name (localhost: ::1 and 127.0.0.1) says so only inside
  if (message === '' && error instanceof AggregateError) message = error.errors.map((e) => describe(e)).join('; ');
  return code === undefined ? message : `${message} (SQLSTATE ${code})`;
}

/** The error's SQLSTATE, when the database sent it: five characters with a digit (an errno name has none). */
function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(?=.*\d)[0-9A-Z]{5}$/.test(code) ? code : undefined;
}
