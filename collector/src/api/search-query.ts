/**
 * The query string of GET /api/spans, already checked against its schema, as the store's SpanSearch:
 * times into epoch milliseconds, `attr` filters into attribute matches, the cursor into a position.
 * What a schema cannot say (a leap second, start after end) is refused here with the same codes.
 */
import { cleanText } from '../core/stored-text.ts';
import type { StatusCode } from '../core/span.ts';
import type { AttributeMatch, SpanSearch } from '../store/span-search.ts';
import { decodeCursor } from './cursor.ts';
import { ERRORS, chsError } from './errors.ts';

/** The validated query string (the schema's defaults applied, `attr` always an array). */
export interface SearchParameters {
  service?: string;
  operation?: string;
  attr?: string[];
  start?: string;
  end?: string;
  minDurationMs?: number;
  maxDurationMs?: number;
  businessKey?: string;
  status?: StatusCode;
  limit: number;
  cursor?: string;
}

export function toSpanSearch(query: SearchParameters): SpanSearch {
  const search: SpanSearch = {
    serviceName: optionalText(query.service),
    name: optionalText(query.operation),
    businessKey: optionalText(query.businessKey),
    statusCode: query.status,
    attributes: query.attr?.map(parseAttributeFilter),
    startFromMs: query.start === undefined ? undefined : parseTime('start', query.start),
    startBeforeMs: query.end === undefined ? undefined : parseTime('end', query.end),
    minDurationMs: query.minDurationMs,
    maxDurationMs: query.maxDurationMs,
    order: 'newest-first',
    after: query.cursor === undefined ? undefined : decodeCursor(query.cursor),
    limit: query.limit,
  };
  if (search.startFromMs !== undefined && search.startBeforeMs !== undefined && search.startFromMs >= search.startBeforeMs) {
    throw chsError(ERRORS.QUERY_TIME_INVALID, { detail: `start (${query.start}) is not before end (${query.end})` });
  }
  if (search.minDurationMs !== undefined && search.maxDurationMs !== undefined && search.minDurationMs > search.maxDurationMs) {
    throw chsError(ERRORS.PARAMETER_INVALID, {
      parameter: 'minDurationMs', problem: `(${search.minDurationMs}) is more than maxDurationMs (${search.maxDurationMs})`,
    });
  }
  return search;
}

/** Stored text never holds NUL or lone surrogates (see cleanText): a filter is cleaned alike, and cannot fail in SQL. */
const optionalText = (text: string | undefined): string | undefined => (text === undefined ? undefined : cleanText(text));

const RFC_3339 = /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Epoch milliseconds as given, or RFC 3339 with a time zone, its fraction kept below the millisecond. */
export function parseTime(parameter: 'start' | 'end', text: string): number {
  if (/^\d+$/.test(text)) return Number(text);
  const match = RFC_3339.exec(text);
  // whole seconds by Date, which applies the offset (the schema checked the calendar; a leap second is NaN here)
  const seconds = match === null ? Number.NaN : Date.parse(`${match[1]}T${match[2]}${match[4]}`);
  if (!Number.isFinite(seconds)) throw chsError(ERRORS.QUERY_TIME_INVALID, { detail: timeFormatProblem(parameter, text) });
  return seconds + Number(`0${match?.[3] ?? ''}`) * 1000;
}

export function timeFormatProblem(parameter: string, text: string): string {
  return `${parameter} "${text.slice(0, 64)}" is neither an RFC 3339 date-time with a time zone nor milliseconds since the Unix epoch`;
}

const JSON_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

/** `key:value`: the key ends at the first colon; the value matches as a string, and as the number or boolean it reads as. */
export function parseAttributeFilter(filter: string): AttributeMatch {
  const colon = filter.indexOf(':');
  if (colon < 1) throw chsError(ERRORS.ATTRIBUTE_FILTER_INVALID, { filter: filter.slice(0, 64) });
  const value = cleanText(filter.slice(colon + 1));
  const anyOf: AttributeMatch['anyOf'] = [value];
  if (JSON_NUMBER.test(value) && Number.isFinite(Number(value))) anyOf.push(Number(value));
  if (value === 'true' || value === 'false') anyOf.push(value === 'true');
  return { key: cleanText(filter.slice(0, colon)), anyOf };
}
