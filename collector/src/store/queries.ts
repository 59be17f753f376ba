/**
 * Every read of the span store, as statement text and row mapping, in plain PostgreSQL: the PGlite and
 * the PostgreSQL store run the same statements through `readMethods`, each supplying how to run one.
 * Numbers are cast to float8 so both clients answer JavaScript numbers (pg answers int8 as text).
 */
import type { SpanId, SpanRecord, TraceId } from '../core/span.ts';
import type { OperationSummary, ServiceSummary, SpanPage, SpanSearch } from './span-search.ts';
import type { SpanStore } from './store.ts';

/** Runs one statement and returns its rows; the store turns a failure into StoreUnavailableError naming `what`. */
export type ReadRows = <Row>(what: string, text: string, values: unknown[]) => Promise<Row[]>;

export type ReadMethods = Pick<SpanStore,
  'spansOfTrace' | 'spansOfBusinessKey' | 'spansLinkingTo' | 'spansLinkedFrom' | 'searchSpans' | 'services' | 'operationsOfService'>;

export interface Statement {
  text: string;
  values: unknown[];
}

const SPANS_OF_TRACE = 'SELECT record FROM spans WHERE trace_id = $1 ORDER BY start_time, span_id';
const SPANS_OF_BUSINESS_KEY = 'SELECT record FROM spans WHERE business_key = $1 ORDER BY start_time, trace_id, span_id LIMIT $2';
// a span linking another twice is answered once; both directions use an index of span_links
const SPANS_LINKING_TO = `SELECT record FROM spans WHERE (trace_id, span_id) IN
  (SELECT trace_id, span_id FROM span_links WHERE linked_trace_id = $1 AND linked_span_id = $2)
  ORDER BY start_time, trace_id, span_id`;
const SPANS_LINKED_FROM = `SELECT record FROM spans WHERE (trace_id, span_id) IN
  (SELECT linked_trace_id, linked_span_id FROM span_links WHERE trace_id = $1 AND span_id = $2)
  ORDER BY start_time, trace_id, span_id`;
const SERVICES = `SELECT service_name, count(*)::float8 AS span_count,
  (extract(epoch FROM max(end_time)) * 1000)::float8 AS last_seen_ms
  FROM spans GROUP BY service_name ORDER BY service_name`;
const OPERATIONS_OF_SERVICE = `SELECT name, kind, count(*)::float8 AS span_count
  FROM spans WHERE service_name = $1 GROUP BY name, kind ORDER BY name, kind`;

/** A span's start time as stored, to the microsecond: the first part of its SpanPosition. */
const POSITION = `to_char(start_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS position`;

export function readMethods(read: ReadRows): ReadMethods {
  const records = async (what: string, text: string, values: unknown[]): Promise<SpanRecord[]> =>
    (await read<{ record: SpanRecord }>(what, text, values)).map((row) => row.record);
  const linkQuery = (text: string) => (traceId: TraceId, spanId: SpanId) => records('links', text, [traceId, spanId]);

  return {
    spansOfTrace: (traceId) => records('a trace', SPANS_OF_TRACE, [traceId]),
    spansOfBusinessKey: (businessKey, limit) => records('a flow', SPANS_OF_BUSINESS_KEY, [businessKey, limit]),
    spansLinkingTo: linkQuery(SPANS_LINKING_TO),
    spansLinkedFrom: linkQuery(SPANS_LINKED_FROM),
    async searchSpans(search): Promise<SpanPage> {
      const { text, values } = searchStatement(search);
      const rows = await read<{ record: SpanRecord; position: string }>('a span search', text, values);
      // one row more than the limit was asked for: it says whether a next page exists
      const page = rows.slice(0, search.limit);
      const last = page.at(-1);
      const next = rows.length > search.limit && last !== undefined
        ? { startTime: last.position, traceId: last.record.traceId, spanId: last.record.spanId }
        : null;
      return { spans: page.map((row) => row.record), next };
    },
    async services(): Promise<ServiceSummary[]> {
      const rows = await read<{ service_name: string; span_count: number; last_seen_ms: number }>('the services', SERVICES, []);
      return rows.map((row) => ({ serviceName: row.service_name, spanCount: row.span_count, lastSeenMs: row.last_seen_ms }));
    },
    async operationsOfService(serviceName): Promise<OperationSummary[]> {
      const rows = await read<{ name: string; kind: OperationSummary['kind']; span_count: number }>(
        'the operations', OPERATIONS_OF_SERVICE, [serviceName]);
      return rows.map((row) => ({ name: row.name, kind: row.kind, spanCount: row.span_count }));
    },
  };
}

/**
 * The search as one SELECT, newest or oldest first by (start_time, trace_id, span_id), continuing
 * strictly after `search.after`: keyset pagination, so spans stored between two pages neither repeat
 * a span nor push one off. Asks for one row more than the limit.
 */
export function searchStatement(search: SpanSearch): Statement {
  const values: unknown[] = [];
  const param = (value: unknown): string => `$${values.push(value)}`;
  const timestamp = (ms: number): string => `to_timestamp(${param(ms)}::float8 / 1000)`; // as stored, see INSERT_SPANS
  const milliseconds = (ms: number): string => `${param(ms)}::float8 * interval '1 millisecond'`;

  const where: string[] = [];
  if (search.serviceName !== undefined) where.push(`service_name = ${param(search.serviceName)}`);
  if (search.name !== undefined) where.push(`name = ${param(search.name)}`);
  if (search.businessKey !== undefined) where.push(`business_key = ${param(search.businessKey)}`);
  if (search.statusCode !== undefined) where.push(`status_code = ${param(search.statusCode)}`);
  for (const match of search.attributes ?? []) {
    // containment in exactly this form is what the GIN index spans_by_attributes answers
    const alternatives = match.anyOf.map((value) => `record->'attributes' @> ${param(JSON.stringify({ [match.key]: value }))}::jsonb`);
    where.push(`(${alternatives.join(' OR ')})`);
  }
  if (search.startFromMs !== undefined) where.push(`start_time >= ${timestamp(search.startFromMs)}`);
  if (search.startBeforeMs !== undefined) where.push(`start_time < ${timestamp(search.startBeforeMs)}`);
  if (search.minDurationMs !== undefined) where.push(`end_time - start_time >= ${milliseconds(search.minDurationMs)}`);
  if (search.maxDurationMs !== undefined) where.push(`end_time - start_time <= ${milliseconds(search.maxDurationMs)}`);

  const descending = search.order === 'newest-first';
  if (search.after !== undefined) {
    const { startTime, traceId, spanId } = search.after;
    where.push(`(start_time, trace_id, span_id) ${descending ? '<' : '>'} (${param(startTime)}::timestamptz, ${param(traceId)}, ${param(spanId)})`);
  }
  const direction = descending ? 'DESC' : 'ASC';
  const text = [
    `SELECT record, ${POSITION} FROM spans`,
    where.length > 0 ? `WHERE ${where.join(' AND ')}` : '',
    `ORDER BY start_time ${direction}, trace_id ${direction}, span_id ${direction}`,
    `LIMIT ${param(search.limit + 1)}`,
  ].join('\n');
  return { text, values };
}
