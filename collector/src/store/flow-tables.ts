/**
 * The statements over the flow tables (migrations/004_flows.sql), in plain PostgreSQL for both stores:
 * the inbox row ingest writes with each committed group, the reads the API makes, and the assembly
 * session's lookups, loads and writes. Lists travel as JSON text parameters, as span batches do.
 */
import { MAX_CATALOG_ATTRIBUTE_KEYS, type CatalogEntry } from '../core/catalog.ts';
import type { AnomalyType, FlowFacts } from '../core/flow.ts';
import type { StoredModel } from '../core/model.ts';
import type { Explanation, FlowState } from '../core/stalls.ts';
import type { BusinessKey, SpanRecord } from '../core/span.ts';
import type {
  AssemblySession, FlowPage, FlowReads, FlowSearch, FlowStanding, FlowWrite, InboxBatch, LookupResult, PropagationGapSummary, StoredFlow,
  StoredSpan,
} from './flow-store.ts';
import { loadAlertState, quietConsumers, writeAlerts } from './alert-tables.ts';
import { flowStats } from './flow-stats.ts';
import { notifyLive } from './live-channel.ts';
import type { ReadRows } from './queries.ts';
import type { SqlClient, SqlSession } from './sql-client.ts';
import { StoreUnavailableError } from './store.ts';

/** A flow point: the row of flow_points that says which flow holds a Kafka message or a business key. */
export const messagePoint = (message: string): string => `m:${message}`;
export const keyPoint = (key: BusinessKey): string => `k:${key}`;

const ENQUEUE = 'INSERT INTO flow_inbox (span_keys, spans) VALUES ($1::text::jsonb, $2) RETURNING id::text AS id';

/** Queues the spans just stored for assembly, in the transaction that stores them; the inbox row's id. */
export async function enqueueForAssembly(tx: SqlSession, spanKeys: readonly string[]): Promise<string | null> {
  if (spanKeys.length === 0) return null;
  const { rows } = await tx.query<{ id: string }>(ENQUEUE, [JSON.stringify(spanKeys), spanKeys.length]);
  return rows[0]!.id;
}

// a list of `traceId/spanId` keys as rows (t, s)
const KEYS = (param: string) => `(SELECT split_part(value, '/', 1) AS t, split_part(value, '/', 2) AS s FROM jsonb_array_elements_text(${param}::text::jsonb)) k`;
const TEXTS = (param: string) => `(SELECT value FROM jsonb_array_elements_text(${param}::text::jsonb))`;

const INBOX_SPANS = `SELECT s.record FROM ${KEYS('$1')} JOIN spans s ON s.trace_id = k.t AND s.span_id = k.s`;
// the flows holding spans named as a parent or link; the batch spans among them; the flows waiting for spans
const FLOWS_OF_SPANS = `SELECT DISTINCT m.flow_id FROM ${KEYS('$1')} JOIN flow_members m ON m.trace_id = k.t AND m.span_id = k.s`;
const BATCH_SPANS = `SELECT s.record FROM ${KEYS('$1')} JOIN flow_batch_spans b ON b.trace_id = k.t AND b.span_id = k.s
  JOIN spans s ON s.trace_id = b.trace_id AND s.span_id = b.span_id`;
const FLOWS_WAITING_FOR = `SELECT DISTINCT m.flow_id FROM flow_pending p
  JOIN flow_members m ON m.trace_id = p.referrer_trace_id AND m.span_id = p.referrer_span_id
  WHERE p.target IN ${TEXTS('$1')}`;
const POINTS = `SELECT point, flow_id, shared FROM flow_points WHERE point IN ${TEXTS('$1')}`;
const FLOW_SPANS_ALL = `SELECT s.record, m.flow_id FROM flow_members m JOIN spans s ON s.trace_id = m.trace_id AND s.span_id = m.span_id
  WHERE m.flow_id IN ${TEXTS('$1')}`;
const SHARED_KEYS = `SELECT substr(point, 3) AS key FROM flow_points WHERE shared AND point IN (SELECT 'k:' || value FROM jsonb_array_elements_text($1::text::jsonb))`;
const INBOX = 'SELECT id::text AS id, span_keys FROM flow_inbox ORDER BY id LIMIT $1';
// the database's clock on both sides, so collectors' clocks do not matter
const BACKLOG = `SELECT coalesce(sum(spans), 0)::float8 AS spans,
  coalesce(extract(epoch FROM clock_timestamp() - min(queued_at)) * 1000, 0)::float8 AS waited_ms FROM flow_inbox`;
const DUE_RECHECKS = 'SELECT flow_id, recheck_at_ms = 0 AS reload FROM flows WHERE recheck_at_ms <= $1 ORDER BY recheck_at_ms LIMIT $2';

const DELETE_FLOWS = `DELETE FROM flows WHERE flow_id IN ${TEXTS('$1')}`;
const UPSERT_FLOWS = `
INSERT INTO flows (flow_id, first_event_ms, last_event_ms, facts, gaps, recheck_at_ms, state, explanation, expected_completion_ms)
SELECT r.facts->>'flowId', (r.facts->>'firstEventMs')::float8, (r.facts->>'lastEventMs')::float8, r.facts, r.gaps, r.recheck_at_ms,
  r.state, r.explanation, r.expected_completion_ms
FROM jsonb_to_recordset($1::text::jsonb) AS r(facts jsonb, gaps jsonb, recheck_at_ms float8, state text, explanation jsonb, expected_completion_ms float8)
ON CONFLICT (flow_id) DO UPDATE SET first_event_ms = EXCLUDED.first_event_ms, last_event_ms = EXCLUDED.last_event_ms,
  facts = EXCLUDED.facts, gaps = EXCLUDED.gaps, recheck_at_ms = EXCLUDED.recheck_at_ms, state = EXCLUDED.state,
  explanation = EXCLUDED.explanation, expected_completion_ms = EXCLUDED.expected_completion_ms`;
const SAVE_MODEL = `INSERT INTO choreography_model (id, model, saved_at_ms) VALUES (1, $1::text::jsonb, $2)
ON CONFLICT (id) DO UPDATE SET model = EXCLUDED.model, saved_at_ms = EXCLUDED.saved_at_ms`;
const UPSERT_MEMBERS = `
INSERT INTO flow_members (trace_id, span_id, flow_id)
SELECT r.trace_id, r.span_id, r.flow_id FROM jsonb_to_recordset($1::text::jsonb) AS r(trace_id text, span_id text, flow_id text)
ON CONFLICT (trace_id, span_id) DO UPDATE SET flow_id = EXCLUDED.flow_id`;
const UPSERT_POINTS = `
INSERT INTO flow_points (point, flow_id)
SELECT r.point, r.flow_id FROM jsonb_to_recordset($1::text::jsonb) AS r(point text, flow_id text)
ON CONFLICT (point) DO UPDATE SET flow_id = EXCLUDED.flow_id WHERE NOT flow_points.shared`;
const ADD_PENDING = `
INSERT INTO flow_pending (target, referrer_trace_id, referrer_span_id)
SELECT r.target, split_part(r.referrer, '/', 1), split_part(r.referrer, '/', 2)
FROM jsonb_to_recordset($1::text::jsonb) AS r(target text, referrer text)
ON CONFLICT DO NOTHING`;
const ADD_BATCH_SPANS = `
INSERT INTO flow_batch_spans (trace_id, span_id)
SELECT r.trace_id, r.span_id FROM jsonb_to_recordset($1::text::jsonb) AS r(trace_id text, span_id text)
ON CONFLICT DO NOTHING`;
const RESOLVE_PENDING = `DELETE FROM flow_pending WHERE target IN ${TEXTS('$1')}`;
const SHARE_KEYS = `
INSERT INTO flow_points (point, flow_id, shared) SELECT 'k:' || value, NULL, true FROM jsonb_array_elements_text($1::text::jsonb)
ON CONFLICT (point) DO UPDATE SET flow_id = NULL, shared = true`;
const UPSERT_CATALOG = `
INSERT INTO event_catalog (event_type, destination, role, service, consumer_group, spans, first_seen_ms, last_seen_ms, attribute_keys)
SELECT r.event_type, r.destination, r.role, r.service, r.consumer_group, r.spans, r.first_seen_ms, r.last_seen_ms, r.attribute_keys
FROM jsonb_to_recordset($1::text::jsonb) AS r(event_type text, destination text, role text, service text, consumer_group text,
  spans float8, first_seen_ms float8, last_seen_ms float8, attribute_keys jsonb)
ON CONFLICT (event_type, destination, role, service, consumer_group) DO UPDATE SET
  spans = event_catalog.spans + EXCLUDED.spans,
  first_seen_ms = least(event_catalog.first_seen_ms, EXCLUDED.first_seen_ms),
  last_seen_ms = greatest(event_catalog.last_seen_ms, EXCLUDED.last_seen_ms),
  attribute_keys = (SELECT coalesce(jsonb_agg(k ORDER BY k), '[]'::jsonb) FROM (
    SELECT DISTINCT k FROM jsonb_array_elements_text(event_catalog.attribute_keys || EXCLUDED.attribute_keys) AS k ORDER BY k LIMIT ${MAX_CATALOG_ATTRIBUTE_KEYS}) keys)`;
const UPSERT_RATES = `
INSERT INTO event_rates (event_type, destination, minute_ms, produced)
SELECT r.event_type, r.destination, r.minute_ms, r.produced
FROM jsonb_to_recordset($1::text::jsonb) AS r(event_type text, destination text, minute_ms float8, produced float8)
ON CONFLICT (event_type, destination, minute_ms) DO UPDATE SET produced = event_rates.produced + EXCLUDED.produced`;
const PRUNE_RATES = 'DELETE FROM event_rates WHERE minute_ms < $1';
// flows stuck after a step the model now sees otherwise: due at once (flows_needing_attention finds them)
const RECHECK_STUCK_AFTER = `UPDATE flows SET recheck_at_ms = $2 WHERE state IN ('late', 'stalled')
  AND explanation->>'afterEventType' IN ${TEXTS('$1')} AND (recheck_at_ms IS NULL OR recheck_at_ms > $2)`;
// facts held back from describing: due for describing then (dueRechecks), should the worker stop first
const MARK_DEFERRED = `UPDATE flows SET recheck_at_ms = $2 WHERE flow_id IN ${TEXTS('$1')} AND (recheck_at_ms IS NULL OR recheck_at_ms > $2)`;
const DELETE_INBOX = `DELETE FROM flow_inbox WHERE id IN (SELECT value::bigint FROM jsonb_array_elements_text($1::text::jsonb))`;

// ---- reads for the API ------------------------------------------------------------------------------

const FLOW_OF_SPAN = 'SELECT flow_id FROM flow_members WHERE trace_id = $1 AND span_id = $2';
const STANDING_OF = 'SELECT state, explanation, expected_completion_ms FROM flows WHERE flow_id = $1';
const STORED_MODEL = 'SELECT model, saved_at_ms FROM choreography_model WHERE id = 1';
const COUNT_BY_STATE = 'SELECT state, count(*)::float8 AS flows FROM flows WHERE last_event_ms >= $1 GROUP BY state';
const FLOW_SPANS = `SELECT s.record FROM flow_members m JOIN spans s ON s.trace_id = m.trace_id AND s.span_id = m.span_id
  WHERE m.flow_id = $1 ORDER BY s.start_time, s.trace_id, s.span_id LIMIT $2`;
const FLOW_SPAN_COUNT = `SELECT count(*)::float8 AS total FROM flow_members m JOIN spans s ON s.trace_id = m.trace_id AND s.span_id = m.span_id
  WHERE m.flow_id = $1`;
const PROPAGATION_GAPS = `
SELECT g.service, g.destination, count(*)::float8 AS lost_hops, count(DISTINCT f.flow_id)::float8 AS flows,
       count(*) FILTER (WHERE g."joinedBy" = 'message')::float8 AS by_message,
       count(*) FILTER (WHERE g."joinedBy" = 'key')::float8 AS by_key,
       count(*) FILTER (WHERE g."joinedBy" IS NULL)::float8 AS by_none,
       (array_agg(f.flow_id ORDER BY f.last_event_ms DESC))[1] AS example_flow_id,
       max(f.last_event_ms) AS last_seen_ms
FROM flows f, jsonb_to_recordset(f.gaps) AS g(service text, destination text, "joinedBy" text)
WHERE f.gaps IS NOT NULL AND f.last_event_ms >= $1
GROUP BY g.service, g.destination
ORDER BY lost_hops DESC, g.service, g.destination
LIMIT $2`;

const CATALOG = `SELECT event_type, destination, role, service, consumer_group, spans, first_seen_ms, last_seen_ms, attribute_keys
  FROM event_catalog ORDER BY event_type, destination, role, service, consumer_group`;
const PRODUCED_SINCE = `SELECT event_type, destination, sum(produced)::float8 AS produced FROM event_rates WHERE minute_ms >= $1
  GROUP BY event_type, destination`;

export function flowReads(read: ReadRows): FlowReads {
  return {
    async flowOfSpan(traceId, spanId) {
      const rows = await read<{ flow_id: string }>('a span\'s flow', FLOW_OF_SPAN, [traceId, spanId]);
      return rows[0]?.flow_id ?? null;
    },
    async flowSpans(flowId, limit) {
      const [spans, count] = await Promise.all([
        read<{ record: SpanRecord }>('a flow\'s spans', FLOW_SPANS, [flowId, limit]),
        read<{ total: number }>('a flow\'s spans', FLOW_SPAN_COUNT, [flowId]),
      ]);
      return { spans: spans.map((row) => row.record), total: count[0]?.total ?? 0 };
    },
    async standingOf(flowId) {
      const [row] = await read<StandingRow>('a flow\'s standing', STANDING_OF, [flowId]);
      return row === undefined ? null : standingOf(row);
    },
    flowStats: (startMs, endMs) => flowStats(read, startMs, endMs),
    async countByState(sinceMs) {
      const rows = await read<{ state: FlowState; flows: number }>('flows by state', COUNT_BY_STATE, [sinceMs]);
      return Object.fromEntries(rows.map((row) => [row.state, row.flows]));
    },
    async storedModel() {
      const [row] = await read<{ model: StoredModel; saved_at_ms: number }>('the learned model', STORED_MODEL, []);
      return row === undefined ? null : { model: row.model, savedAtMs: row.saved_at_ms };
    },
    async searchFlows(search) {
      const { text, values } = flowSearchStatement(search);
      const rows = await read<{ facts: FlowFacts; last_event_ms: number; flow_id: string } & StandingRow>('a flow search', text, values);
      const page = rows.slice(0, search.limit);
      const last = page.at(-1);
      return {
        flows: page.map((row): StoredFlow => ({ ...row.facts, ...standingOf(row) })),
        next: rows.length > search.limit && last !== undefined ? { lastEventMs: last.last_event_ms, flowId: last.flow_id } : null,
      } satisfies FlowPage;
    },
    async sharedKeys(keys) {
      if (keys.length === 0) return [];
      return (await read<{ key: string }>('shared keys', SHARED_KEYS, [JSON.stringify(keys)])).map((row) => row.key);
    },
    async propagationGaps(sinceMs, limit) {
      const rows = await read<{
        service: string; destination: string | null; lost_hops: number; flows: number; by_message: number; by_key: number; by_none: number;
        example_flow_id: string; last_seen_ms: number;
      }>('the propagation gaps', PROPAGATION_GAPS, [sinceMs, limit]);
      return rows.map((row): PropagationGapSummary => ({
        service: row.service,
        destination: row.destination,
        lostHops: row.lost_hops,
        flows: row.flows,
        matchedBy: { message: row.by_message, key: row.by_key, none: row.by_none },
        exampleFlowId: row.example_flow_id,
        lastSeenMs: row.last_seen_ms,
      }));
    },
    async catalog(sinceMs) {
      const [entries, rates] = await Promise.all([
        read<{
          event_type: string; destination: string; role: 'producer' | 'consumer'; service: string; consumer_group: string; spans: number;
          first_seen_ms: number; last_seen_ms: number; attribute_keys: string[];
        }>('the event catalogue', CATALOG, []),
        read<{ event_type: string; destination: string; produced: number }>('the event rates', PRODUCED_SINCE, [sinceMs]),
      ]);
      return {
        entries: entries.map((row): CatalogEntry => ({
          eventType: row.event_type, destination: row.destination, role: row.role, service: row.service, consumerGroup: row.consumer_group,
          spans: row.spans, firstSeenMs: row.first_seen_ms, lastSeenMs: row.last_seen_ms, attributeKeys: row.attribute_keys,
        })),
        producedSince: rates.map((row) => ({ eventType: row.event_type, destination: row.destination, produced: row.produced })),
      };
    },
  };
}

/** The flow search as one SELECT, newest activity first, continuing strictly after `search.after`; one row more than the limit. */
export function flowSearchStatement(search: FlowSearch): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  const param = (value: unknown): string => `$${values.push(value)}`;
  const where: string[] = [];
  // containment in exactly this form is what the jsonb_path_ops indexes answer
  const contains = (path: string, value: string) => where.push(`facts->'${path}' @> ${param(JSON.stringify([value]))}::jsonb`);
  if (search.service !== undefined) contains('services', search.service);
  if (search.eventType !== undefined) contains('eventTypes', search.eventType);
  if (search.anomaly !== undefined) {
    contains('anomalies', search.anomaly satisfies AnomalyType);
    where.push(`facts->'anomalies' <> '[]'::jsonb`); // lets the partial index serve it
  }
  if (search.flowIds !== undefined) where.push(`flow_id IN (SELECT jsonb_array_elements_text(${param(JSON.stringify(search.flowIds))}::jsonb))`);
  if (search.state !== undefined) where.push(`state = ${param(search.state satisfies FlowState)}`);
  if (search.businessKey !== undefined) {
    where.push(`flow_id IN (SELECT m.flow_id FROM spans s JOIN flow_members m ON m.trace_id = s.trace_id AND m.span_id = s.span_id
      WHERE s.business_key = ${param(search.businessKey)})`);
  }
  if (search.traceId !== undefined) where.push(`flow_id IN (SELECT flow_id FROM flow_members WHERE trace_id = ${param(search.traceId)})`);
  if (search.activeFromMs !== undefined) where.push(`last_event_ms >= ${param(search.activeFromMs)}`);
  if (search.activeBeforeMs !== undefined) where.push(`first_event_ms < ${param(search.activeBeforeMs)}`);
  if (search.after !== undefined) where.push(`(last_event_ms, flow_id) < (${param(search.after.lastEventMs)}::float8, ${param(search.after.flowId)})`);
  const text = [
    'SELECT facts, last_event_ms, flow_id, state, explanation, expected_completion_ms FROM flows',
    where.length > 0 ? `WHERE ${where.join(' AND ')}` : '',
    `ORDER BY last_event_ms DESC, flow_id DESC LIMIT ${param(search.limit + 1)}`,
  ].join('\n');
  return { text, values };
}

// ---- the assembly session -----------------------------------------------------------------------

/**
 * An assembly session over a client only the assembler uses (or, on PGlite, the one database). Failures
 * are StoreUnavailableError: the worker then forgets its working set and starts again from the store.
 */
export function assemblySession(db: SqlClient, release: () => Promise<void>): AssemblySession {
  const rows = async <Row>(what: string, text: string, values: unknown[], session: SqlSession = db): Promise<Row[]> => {
    try {
      return (await session.query<Row>(text, values)).rows;
    } catch (error) {
      throw new StoreUnavailableError(`could not ${what}: ${(error as Error).message}`, { cause: error });
    }
  };
  const stored = (list: { record: SpanRecord; flow_id: string | null }[]): StoredSpan[] =>
    list.map((row) => ({ record: row.record, flowId: row.flow_id }));

  return {
    async takeInbox(maxSpans, handedOver) {
      // rows hold a committed group each (up to a commit's spans): take whole rows until the budget is met
      const inbox = await rows<{ id: string; span_keys: string[] }>('read the flow inbox', INBOX, [Math.max(1, Math.ceil(maxSpans / 10))]);
      const ids: string[] = [];
      const spans: SpanRecord[] = [];
      const unknown: string[] = []; // keys of rows this process did not commit (or no longer holds)
      let count = 0;
      for (const row of inbox) {
        if (ids.length > 0 && count + row.span_keys.length > maxSpans) break;
        ids.push(row.id);
        count += row.span_keys.length;
        const records = handedOver(row.id);
        if (records === undefined) unknown.push(...row.span_keys);
        else spans.push(...records);
      }
      if (unknown.length > 0) spans.push(...(await rows<{ record: SpanRecord }>('read the inbox spans', INBOX_SPANS, [JSON.stringify(unknown)])).map((row) => row.record));
      return { ids, spans } satisfies InboxBatch;
    },
    async lookup(lookups): Promise<LookupResult> {
      const points = [...lookups.messages.map(messagePoint), ...lookups.keys.map(keyPoint)];
      const named = JSON.stringify(lookups.spans);
      // one after the other: the session is one connection
      const members = lookups.spans.length === 0 ? [] : await rows<{ flow_id: string }>('look up named spans', FLOWS_OF_SPANS, [named]);
      const batchSpans = lookups.spans.length === 0 ? [] : await rows<{ record: SpanRecord }>('look up batch spans', BATCH_SPANS, [named]);
      const waiting = lookups.referrersOf.length === 0 ? []
        : await rows<{ flow_id: string }>('look up waiting references', FLOWS_WAITING_FOR, [JSON.stringify(lookups.referrersOf)]);
      const found = points.length === 0 ? []
        : await rows<{ point: string; flow_id: string | null; shared: boolean }>('look up flow points', POINTS, [JSON.stringify(points)]);
      const flowIds = new Set([...members, ...waiting].map((row) => row.flow_id));
      for (const row of found) if (row.flow_id !== null) flowIds.add(row.flow_id);
      return {
        flowIds: [...flowIds],
        sharedKeys: found.filter((row) => row.shared).map((row) => row.point.slice(2)),
        batchSpans: batchSpans.map((row) => row.record),
      };
    },
    async loadFlows(flowIds) {
      if (flowIds.length === 0) return { spans: [], sharedKeys: [] };
      const spans = stored(await rows('load flows', FLOW_SPANS_ALL, [JSON.stringify(flowIds)]));
      const keys = [...new Set(spans.flatMap((s) => (s.record.businessKey === null ? [] : [s.record.businessKey])))];
      const shared = keys.length === 0 ? [] : await rows<{ key: string }>('read shared keys', SHARED_KEYS, [JSON.stringify(keys)]);
      return { spans, sharedKeys: shared.map((row) => row.key) };
    },
    async backlog() {
      const [row] = await rows<{ spans: number; waited_ms: number }>('measure the flow backlog', BACKLOG, []);
      return { spans: row!.spans, oldestWaitMs: Math.max(0, row!.waited_ms) };
    },
    async loadModel() {
      const [row] = await rows<{ model: StoredModel }>('read the learned model', STORED_MODEL, []);
      return row?.model ?? null;
    },
    loadAlerts(stuckSinceMs) {
      return loadAlertState(rows, stuckSinceMs);
    },
    quietConsumers(quietBeforeMs, seenSinceMs) {
      return quietConsumers(rows, quietBeforeMs, seenSinceMs);
    },
    async dueRechecks(nowMs, limit) {
      return (await rows<{ flow_id: string; reload: boolean }>('read flows to recheck', DUE_RECHECKS, [nowMs, limit]))
        .map((row) => ({ flowId: row.flow_id, reload: row.reload }));
    },
    async write(write: FlowWrite) {
      try {
        await db.transaction(async (tx) => {
          if (write.removed.length > 0) await tx.query(DELETE_FLOWS, [JSON.stringify(write.removed)]);
          if (write.flows.length > 0) await tx.query(UPSERT_FLOWS, [JSON.stringify(write.flows.map(flowRecord))]);
          if (write.members.length > 0) {
            await tx.query(UPSERT_MEMBERS, [JSON.stringify(write.members.map((m) => ({ trace_id: m.traceId, span_id: m.spanId, flow_id: m.flowId })))]);
          }
          if (write.points.length > 0) await tx.query(UPSERT_POINTS, [JSON.stringify(write.points.map((p) => ({ point: p.point, flow_id: p.flowId })))]);
          if (write.sharedKeys.length > 0) await tx.query(SHARE_KEYS, [JSON.stringify(write.sharedKeys)]);
          if (write.batchSpans.length > 0) {
            await tx.query(ADD_BATCH_SPANS, [JSON.stringify(write.batchSpans.map((s) => ({ trace_id: s.traceId, span_id: s.spanId })))]);
          }
          if (write.resolved.length > 0) await tx.query(RESOLVE_PENDING, [JSON.stringify(write.resolved)]);
          if (write.waiting.length > 0) await tx.query(ADD_PENDING, [JSON.stringify(write.waiting)]);
          if (write.catalog.entries.length > 0) await tx.query(UPSERT_CATALOG, [JSON.stringify(write.catalog.entries.map(catalogRecord))]);
          if (write.catalog.minutes.length > 0) {
            const minutes = write.catalog.minutes.map((m) => ({ event_type: m.eventType, destination: m.destination, minute_ms: m.minuteMs, produced: m.produced }));
            await tx.query(UPSERT_RATES, [JSON.stringify(minutes)]);
          }
          if (write.deferred.flowIds.length > 0) await tx.query(MARK_DEFERRED, [JSON.stringify(write.deferred.flowIds), write.deferred.describeAtMs]);
          if (write.recheckStuckAfter.length > 0) await tx.query(RECHECK_STUCK_AFTER, [JSON.stringify(write.recheckStuckAfter), write.nowMs]);
          if (write.pruneRatesBeforeMs !== null) await tx.query(PRUNE_RATES, [write.pruneRatesBeforeMs]);
          if (write.model !== null) await tx.query(SAVE_MODEL, [JSON.stringify(write.model), write.nowMs]);
          await writeAlerts(tx, write.alerts, write.notifications, write.nowMs);
          if (write.live !== null) await notifyLive(tx, write.live);
          if (write.inboxIds.length > 0) await tx.query(DELETE_INBOX, [JSON.stringify(write.inboxIds)]);
        });
      } catch (error) {
        throw new StoreUnavailableError(`could not store assembled flows: ${(error as Error).message}`, { cause: error });
      }
    },
    release,
  };
}

function catalogRecord(entry: CatalogEntry): Record<string, unknown> {
  return {
    event_type: entry.eventType, destination: entry.destination, role: entry.role, service: entry.service, consumer_group: entry.consumerGroup,
    spans: entry.spans, first_seen_ms: entry.firstSeenMs, last_seen_ms: entry.lastSeenMs, attribute_keys: entry.attributeKeys,
  };
}

function flowRecord(row: FlowWrite['flows'][number]): Record<string, unknown> {
  return {
    facts: row.facts, gaps: row.gaps.length === 0 ? null : row.gaps, recheck_at_ms: row.recheckAtMs,
    state: row.standing.state, explanation: row.standing.explanation, expected_completion_ms: row.standing.expectedCompletionMs,
  };
}

interface StandingRow {
  state: FlowState;
  explanation: Explanation | null;
  expected_completion_ms: number | null;
}

const standingOf = (row: StandingRow): FlowStanding => ({ state: row.state, explanation: row.explanation, expectedCompletionMs: row.expected_completion_ms });

