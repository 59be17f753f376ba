/**
 * The JSON schemas of the query API: Fastify validates parameters with them, and the OpenAPI document
 * (`/api/openapi.json`) is generated from them. Response schemas mirror `types.ts` and only document:
 * answers are serialized with JSON.stringify, and a test checks real answers against these schemas.
 */
import { MAX_BUSINESS_KEY_CHARS } from '../core/business-key.ts';
import { MAX_SERVICE_NAME_CHARS, SPAN_KINDS, STATUS_CODES } from '../ingest/to-span-records.ts';
import { ERRORS, type ErrorDefinition } from './errors.ts';

export const TRACE_ID_PATTERN = '^(?!0{32}$)[0-9a-fA-F]{32}$';
export const SPAN_ID_PATTERN = '^(?!0{16}$)[0-9a-fA-F]{16}$';
/** Epoch milliseconds: digits only, at most 15 (until the year 33658). */
const EPOCH_MS_PATTERN = '^\\d{1,15}$';

// ---- parameters -------------------------------------------------------------------------------

export const traceIdParameter = { type: 'string', pattern: TRACE_ID_PATTERN, description: '32 hex digits, not all zeros (any case)' };
export const spanIdParameter = { type: 'string', pattern: SPAN_ID_PATTERN, description: '16 hex digits, not all zeros (any case)' };
export const businessKeyParameter = {
  type: 'string', minLength: 1, maxLength: MAX_BUSINESS_KEY_CHARS,
  description: '`choreoscope.business_key` (or `messaging.message.conversation_id`), e.g. an order id',
};
export const serviceParameter = { type: 'string', minLength: 1, maxLength: MAX_SERVICE_NAME_CHARS, description: "the resource's `service.name`" };

export function limitParameter(max: number, fallback: number) {
  return { type: 'integer', minimum: 1, maximum: max, default: fallback, description: `spans per page, 1 to ${max} (default ${fallback})` };
}

export const cursorParameter = {
  type: 'string', pattern: '^[A-Za-z0-9_-]+$', maxLength: 256,
  description: "the previous page's `nextCursor`, unchanged; give the same filters with it",
};

export function timeParameter(description: string) {
  return {
    type: 'string',
    anyOf: [{ pattern: EPOCH_MS_PATTERN }, { format: 'date-time' }],
    description: `${description}: RFC 3339 with a time zone (\`2025-01-31T12:00:00.250Z\`) or milliseconds since the Unix epoch (\`1738324800250\`)`,
  };
}

/** The longest duration a search takes: about 31.7 years (PostgreSQL's interval would overflow far past it). */
export const MAX_DURATION_MS = 1e12;

export function durationParameter(description: string) {
  return { type: 'number', minimum: 0, maximum: MAX_DURATION_MS, description: `${description} (at most ${MAX_DURATION_MS})` };
}

export const statusParameter = { type: 'string', enum: STATUS_CODES, description: 'the span status, e.g. `error`' };
export const spanKind = { type: 'string', enum: SPAN_KINDS };

/** The most `attr` filters one search takes. */
export const MAX_ATTRIBUTE_FILTERS = 20;
export const attributeFiltersParameter = {
  type: 'array',
  items: { type: 'string', pattern: '^[^:]+:' },
  maxItems: MAX_ATTRIBUTE_FILTERS,
  description: 'repeatable `key:value` (the key ends at the first colon): the span attribute equals the value as a string, '
    + 'or as a number or boolean when the value reads as one. Every filter must hold',
};

/** A query string taking exactly these parameters: any other is refused (CHS_ERR_QUERY_PARAMETER_UNKNOWN), not ignored. */
export function queryString(properties: Record<string, object>) {
  return { type: 'object', properties, propertyNames: { enum: Object.keys(properties) } };
}

export function pathParameters(properties: Record<string, object>) {
  return { type: 'object', properties, required: Object.keys(properties) };
}

// ---- responses --------------------------------------------------------------------------------

const string = { type: 'string' };
const number = { type: 'number' };
const lowerHex = (digits: number) => ({ type: 'string', pattern: `^[0-9a-f]{${digits}}$` });
/** Any JSON value: attributes are flattened from OTLP (strings, numbers, booleans, null, arrays, objects). */
const attributes = { type: 'object', additionalProperties: true, description: 'attribute name to value (any JSON value)' };

export function responseObject(properties: Record<string, object>, description?: string) {
  return { type: 'object', additionalProperties: false, required: Object.keys(properties), properties, ...(description ? { description } : {}) };
}

/** ApiSpan, shared by the responses that hold spans (`$ref: 'ApiSpan#'`). */
export const apiSpanSchema = {
  $id: 'ApiSpan',
  ...responseObject({
    traceId: lowerHex(32),
    spanId: lowerHex(16),
    parentSpanId: { type: ['string', 'null'], pattern: '^[0-9a-f]{16}$' },
    name: string,
    kind: spanKind,
    startTimeMs: { type: 'number', description: 'milliseconds since the Unix epoch (fractional)' },
    endTimeMs: number,
    status: responseObject({ code: { type: 'string', enum: STATUS_CODES }, message: string }),
    serviceName: string,
    businessKey: { type: ['string', 'null'] },
    attributes,
    events: { type: 'array', items: responseObject({ name: string, timeMs: number, attributes }) },
    links: { type: 'array', items: responseObject({ traceId: lowerHex(32), spanId: lowerHex(16), attributes }) },
    resource: attributes,
    scope: responseObject({ name: string, version: string }),
  }, 'one stored span'),
};

export const spanList = { type: 'array', items: { $ref: 'ApiSpan#' } };
export const nextCursor = { type: ['string', 'null'], description: 'pass as `cursor` for the next page; null on the last page' };

/** Errors any query route may answer with, besides its own (the 401s when the collector is given API tokens). */
const COMMON_ERRORS: ErrorDefinition[] = [
  ERRORS.REQUEST_INVALID, ERRORS.AUTH_TOKEN_MISSING, ERRORS.AUTH_TOKEN_INVALID, ERRORS.INTERNAL, ERRORS.STORE_UNAVAILABLE,
];

/**
 * The error responses of a route, by status: an ApiErrorBody whose `code` is one of the catalogue
 * codes listed (the route's own and the common ones), each documented in docs/api-errors.md.
 */
export function errorResponses(...own: ErrorDefinition[]): Record<string, object> {
  const byStatus = new Map<number, string[]>();
  for (const definition of [...own, ...COMMON_ERRORS]) {
    const codes = byStatus.get(definition.status) ?? [];
    if (!codes.includes(definition.code)) codes.push(definition.code);
    byStatus.set(definition.status, codes);
  }
  return Object.fromEntries([...byStatus].map(([status, codes]) => [status, {
    description: `an error: ${codes.join(', ')} (docs/api-errors.md)`,
    ...responseObject({ error: responseObject({ code: { type: 'string', enum: codes }, message: string }) }),
  }]));
}
