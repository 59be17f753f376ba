/**
 * An OTLP ExportTraceServiceRequest (decoded from either encoding into plain objects) in, span records
 * and per-span rejections out. Pure: no I/O, no clock. One malformed span is rejected with its reason
 * while the rest of the batch goes on; only a request whose shape hides where its spans are (say,
 * `resourceSpans` is not an array) is refused whole.
 */
import { DEFAULT_BUSINESS_KEY_ATTRIBUTES, readBusinessKey } from '../core/business-key.ts';
import type { Attributes, InstrumentationScope, SpanEvent, SpanKind, SpanLink, SpanRecord, SpanStatus, StatusCode } from '../core/span.ts';
import { readAttributes } from './otlp-attributes.ts';
import {
  InvalidField, isPlainObject, nanosToMs, readArray, readEnum, readId, readObject, readParentId, readText, readUnixNano,
} from './otlp-fields.ts';

/** Longest `service.name` kept: it is an index key, and PostgreSQL's b-tree entries stop near 2.7 KB. */
export const MAX_SERVICE_NAME_CHARS = 512;
export const UNKNOWN_SERVICE = 'unknown_service';

/** OTLP's SpanKind and Status.code enums, by their numbers. */
export const SPAN_KINDS: readonly SpanKind[] = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
export const STATUS_CODES: readonly StatusCode[] = ['unset', 'ok', 'error'];

/** Where a rejected span sat in the request, and why it was rejected. */
export interface SpanRejection {
  path: string;
  reason: string;
}

export interface DecodedSpans {
  spans: SpanRecord[];
  rejections: SpanRejection[];
  /** Things the sender should fix that cost no span, e.g. snake_case keys that were ignored. */
  warnings: string[];
}

export type ToSpanRecordsResult = ({ ok: true } & DecodedSpans) | { ok: false; problem: string };

/**
 * `businessKeyAttributes`: the span attributes a business key is read from, first found wins (see
 * business-key.ts).
 */
export function toSpanRecords(request: unknown, businessKeyAttributes: readonly string[] = DEFAULT_BUSINESS_KEY_ATTRIBUTES): ToSpanRecordsResult {
  if (!isPlainObject(request)) return { ok: false, problem: 'the request must be an object' };
  const result: DecodedSpans = { spans: [], rejections: [], warnings: [] };
  const ignoredKeys = new Set<string>();
  try {
    noteSnakeCaseKeys(request, ignoredKeys);
    readArray(request.resourceSpans, 'resourceSpans').forEach((resourceSpans, i) => {
      readResourceSpans(resourceSpans, `resourceSpans[${i}]`, result, ignoredKeys, businessKeyAttributes);
    });
  } catch (error) {
    if (error instanceof InvalidField) return { ok: false, problem: error.message };
    throw error;
  }
  for (const key of ignoredKeys) {
    result.warnings.push(`ignored the key "${key}": OTLP/JSON keys are lowerCamelCase ("${camelCase(key)}")`);
  }
  return { ok: true, ...result };
}

/** What every span of one ScopeSpans shares: its resource and its scope. */
interface SpanOrigin {
  resource: Attributes;
  serviceName: string;
  scope: InstrumentationScope;
}

function readResourceSpans(
  value: unknown, path: string, result: DecodedSpans, ignoredKeys: Set<string>, businessKeyAttributes: readonly string[],
): void {
  const resourceSpans = readObject(value, path);
  noteSnakeCaseKeys(resourceSpans, ignoredKeys);
  const scopeSpansList = readArray(resourceSpans.scopeSpans, `${path}.scopeSpans`);
  const resource = attempt(() => readResource(resourceSpans.resource, `${path}.resource`));

  scopeSpansList.forEach((scopeValue, j) => {
    const scopePath = `${path}.scopeSpans[${j}]`;
    const scopeSpans = readObject(scopeValue, scopePath);
    noteSnakeCaseKeys(scopeSpans, ignoredKeys);
    const spans = readArray(scopeSpans.spans, `${scopePath}.spans`);
    // a resource or scope that does not read costs the spans under it, each rejected with its reason
    const origin = resource instanceof InvalidField
      ? resource
      : attempt((): SpanOrigin => ({ ...resource, scope: readScope(scopeSpans.scope, `${scopePath}.scope`) }));
    spans.forEach((spanValue, k) => {
      if (isPlainObject(spanValue)) noteSnakeCaseKeys(spanValue, ignoredKeys);
      const span = origin instanceof InvalidField ? origin : attempt(() => readSpan(spanValue, origin, businessKeyAttributes));
      if (span instanceof InvalidField) result.rejections.push({ path: `${scopePath}.spans[${k}]`, reason: span.message });
      else result.spans.push(span);
    });
  });
}

/** What `read` returns, or the InvalidField it threw; any other error is a bug and goes on up. */
function attempt<T>(read: () => T): T | InvalidField {
  try {
    return read();
  } catch (error) {
    if (error instanceof InvalidField) return error;
    throw error;
  }
}

function readResource(value: unknown, path: string): Omit<SpanOrigin, 'scope'> {
  const attributes = readAttributes(readObject(value, path).attributes, `${path}.attributes`);
  const name = attributes['service.name'];
  const serviceName = typeof name === 'string' && name !== '' ? name : UNKNOWN_SERVICE;
  if (serviceName.length > MAX_SERVICE_NAME_CHARS) {
    throw new InvalidField(`${path} service.name is ${serviceName.length} characters long, more than ${MAX_SERVICE_NAME_CHARS}`);
  }
  return { resource: attributes, serviceName };
}

function readScope(value: unknown, path: string): InstrumentationScope {
  const scope = readObject(value, path);
  return { name: readText(scope.name, `${path}.name`), version: readText(scope.version, `${path}.version`) };
}

function readSpan(value: unknown, origin: SpanOrigin, businessKeyAttributes: readonly string[]): SpanRecord {
  if (!isPlainObject(value)) throw new InvalidField('the span must be an object');
  const traceId = readId(value.traceId, 16, 'traceId');
  const spanId = readId(value.spanId, 8, 'spanId');
  const start = readUnixNano(value.startTimeUnixNano, 'startTimeUnixNano');
  const end = readUnixNano(value.endTimeUnixNano, 'endTimeUnixNano');
  if (end < start) throw new InvalidField('endTimeUnixNano is before startTimeUnixNano');
  const span: SpanRecord = {
    traceId,
    spanId,
    parentSpanId: readParentId(value.parentSpanId, 'parentSpanId'),
    name: readText(value.name, 'name'),
    kind: SPAN_KINDS[readEnum(value.kind, 'kind')] ?? 'unspecified',
    startTimeMs: nanosToMs(start),
    endTimeMs: nanosToMs(end),
    status: readStatus(value.status),
    attributes: readAttributes(value.attributes, 'attributes'),
    events: readArray(value.events, 'events').map((event, i) => readEvent(event, `events[${i}]`)),
    links: readArray(value.links, 'links').map((link, i) => readLink(link, `links[${i}]`)),
    serviceName: origin.serviceName,
    resource: origin.resource,
    scope: origin.scope,
    businessKey: null,
  };
  const businessKey = readBusinessKey(span.attributes, businessKeyAttributes);
  if ('problem' in businessKey) throw new InvalidField(businessKey.problem);
  span.businessKey = businessKey.key;
  return span;
}

function readStatus(value: unknown): SpanStatus {
  const status = readObject(value, 'status');
  return {
    // an unknown code from a newer OTLP is kept as unset rather than costing the span
    code: STATUS_CODES[readEnum(status.code, 'status.code')] ?? 'unset',
    message: readText(status.message, 'status.message'),
  };
}

function readEvent(value: unknown, path: string): SpanEvent {
  const event = readObject(value, path);
  return {
    name: readText(event.name, `${path}.name`),
    timeMs: nanosToMs(readUnixNano(event.timeUnixNano, `${path}.timeUnixNano`)),
    attributes: readAttributes(event.attributes, `${path}.attributes`),
  };
}

function readLink(value: unknown, path: string): SpanLink {
  const link = readObject(value, path);
  return {
    traceId: readId(link.traceId, 16, `${path}.traceId`),
    spanId: readId(link.spanId, 8, `${path}.spanId`),
    attributes: readAttributes(link.attributes, `${path}.attributes`),
  };
}

/** OTLP/JSON receivers must ignore unknown keys; a snake_case spelling of a known field is worth a warning. */
function noteSnakeCaseKeys(object: Record<string, unknown>, found: Set<string>): void {
  for (const key in object) {
    if (key.includes('_') && KNOWN_FIELDS.has(camelCase(key))) found.add(key);
  }
}

function camelCase(key: string): string {
  return key.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

const KNOWN_FIELDS = new Set([
  'resourceSpans', 'scopeSpans', 'schemaUrl', 'traceId', 'spanId', 'traceState', 'parentSpanId',
  'startTimeUnixNano', 'endTimeUnixNano', 'droppedAttributesCount', 'droppedEventsCount', 'droppedLinksCount',
]);
