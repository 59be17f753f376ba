/**
 * The opaque `cursor` of a paged answer: the position of the last span it held, base64url-encoded.
 * Decoding checks every part, so a cursor this API did not give out is a 400, never a database error.
 */
import type { SpanPosition } from '../store/span-search.ts';
import { ERRORS, chsError } from './errors.ts';
import type { ApiCursor } from './types.ts';

const VERSION = 'p1';
/** The stored start time to the microsecond; the part Date can check is the millisecond prefix. */
const START_TIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3})\d{3}Z$/;
const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;

export function encodeCursor(position: SpanPosition): ApiCursor {
  return Buffer.from([VERSION, position.startTime, position.traceId, position.spanId].join(' ')).toString('base64url');
}

export function decodeCursor(cursor: ApiCursor): SpanPosition {
  const [version, startTime = '', traceId = '', spanId = '', ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split(' ');
  if (version !== VERSION || rest.length > 0 || !isRealTime(startTime) || !TRACE_ID.test(traceId) || !SPAN_ID.test(spanId)) {
    throw chsError(ERRORS.QUERY_CURSOR_INVALID, { cursor: cursor.slice(0, 64) });
  }
  return { startTime, traceId, spanId };
}

/** A date that exists (no February 30, which Date would roll over) and is not before the epoch, as stored spans are not. */
function isRealTime(startTime: string): boolean {
  const prefix = START_TIME.exec(startTime)?.[1];
  if (prefix === undefined) return false;
  const ms = Date.parse(`${prefix}Z`);
  return ms >= 0 && new Date(ms).toISOString() === `${prefix}Z`;
}
