/**
 * Every error the collector answers with, in one catalogue: a stable code (documented in
 * docs/api-errors.md, pinned by test/error-catalogue.test.ts), the HTTP status, and a message template
 * whose `{placeholders}` the compiler checks against the values given to `chsError`.
 * OTLP routes send an error as a google.rpc.Status carrying the code; the query API as `ApiErrorBody`.
 */

export interface ErrorDefinition<Template extends string = string> {
  code: `CHS_ERR_${string}`;
  status: number;
  message: Template;
}

function define<const Template extends string>(code: `CHS_ERR_${string}`, status: number, message: Template): ErrorDefinition<Template> {
  return { code, status, message };
}

export const ERRORS = {
  // OTLP/HTTP ingest (POST /v1/traces)
  OTLP_METHOD_NOT_ALLOWED: define('CHS_ERR_OTLP_METHOD_NOT_ALLOWED', 405, '{method} is not allowed on /v1/traces: OTLP/HTTP exports are sent with POST'),
  OTLP_CONTENT_TYPE_UNSUPPORTED: define('CHS_ERR_OTLP_CONTENT_TYPE_UNSUPPORTED', 415, 'content type "{contentType}" is not supported: send application/x-protobuf or application/json'),
  OTLP_CONTENT_ENCODING_UNSUPPORTED: define('CHS_ERR_OTLP_CONTENT_ENCODING_UNSUPPORTED', 415, 'content encoding "{contentEncoding}" is not supported: send gzip or no Content-Encoding'),
  OTLP_BODY_TOO_LARGE: define('CHS_ERR_OTLP_BODY_TOO_LARGE', 413, 'the request body is larger than {maxBodyBytes} bytes (counted after decompression)'),
  OTLP_TOO_MANY_SPANS: define('CHS_ERR_OTLP_TOO_MANY_SPANS', 413, 'the request holds {spans} spans, more than the {maxSpansPerRequest} one export may carry'),
  OTLP_GZIP_INVALID: define('CHS_ERR_OTLP_GZIP_INVALID', 400, 'the body is not valid gzip: {detail}'),
  OTLP_BODY_UNDECODABLE: define('CHS_ERR_OTLP_BODY_UNDECODABLE', 400, 'the body is not an OTLP ExportTraceServiceRequest in {encoding}: {detail}'),
  OTLP_SPANS_UNSTORABLE: define('CHS_ERR_OTLP_SPANS_UNSTORABLE', 400, 'the store refused the spans of this request as data: {detail}'),
  INGEST_OVERLOADED: define('CHS_ERR_INGEST_OVERLOADED', 429, 'too many spans are waiting to be stored; retry after {retryAfterSeconds} s'),
  STORE_UNAVAILABLE: define('CHS_ERR_STORE_UNAVAILABLE', 503, 'the span store is unavailable; retry after {retryAfterSeconds} s'),
  STORE_COMMIT_TIMEOUT: define('CHS_ERR_STORE_COMMIT_TIMEOUT', 503, 'the span store did not commit the spans within {commitTimeoutMs} ms; they may be stored later, so retry after {retryAfterSeconds} s (a retry stores nothing twice)'),
  // query API (/api/...)
  TRACE_ID_INVALID: define('CHS_ERR_TRACE_ID_INVALID', 400, 'trace id "{traceId}" is not 32 hex digits (or is all zeros)'),
  TRACE_NOT_FOUND: define('CHS_ERR_TRACE_NOT_FOUND', 404, 'no span of trace {traceId} is stored'),
  BUSINESS_KEY_INVALID: define('CHS_ERR_BUSINESS_KEY_INVALID', 400, 'a business key is 1 to {maxChars} characters long, not {length}'),
  FLOW_ID_INVALID: define('CHS_ERR_FLOW_ID_INVALID', 400, 'flow id "{flowId}" is not <32 hex digits>-<16 hex digits> (its anchor span\'s trace and span id)'),
  FLOW_NOT_FOUND: define('CHS_ERR_FLOW_NOT_FOUND', 404, 'no flow {flowId} is stored (its spans may not be assembled yet, or were deleted by retention)'),
  SPAN_NOT_FOUND: define('CHS_ERR_SPAN_NOT_FOUND', 404, 'span {traceId}/{spanId} is not stored'),
  QUERY_LIMIT_INVALID: define('CHS_ERR_QUERY_LIMIT_INVALID', 400, 'limit must be an integer from 1 to {max}, not "{limit}"'),
  SPAN_ID_INVALID: define('CHS_ERR_SPAN_ID_INVALID', 400, 'span id "{spanId}" is not 16 hex digits (or is all zeros)'),
  SERVICE_NOT_FOUND: define('CHS_ERR_SERVICE_NOT_FOUND', 404, 'no span of service "{service}" is stored'),
  QUERY_PARAMETER_UNKNOWN: define('CHS_ERR_QUERY_PARAMETER_UNKNOWN', 400, 'unknown query parameter "{parameter}": this route takes {known}'),
  PARAMETER_INVALID: define('CHS_ERR_PARAMETER_INVALID', 400, 'parameter {parameter} {problem}'),
  QUERY_TIME_INVALID: define('CHS_ERR_QUERY_TIME_INVALID', 400, 'the time range is invalid: {detail}'),
  QUERY_CURSOR_INVALID: define('CHS_ERR_QUERY_CURSOR_INVALID', 400, 'cursor "{cursor}" is not one this API gave out: pass a nextCursor back unchanged'),
  ATTRIBUTE_FILTER_INVALID: define('CHS_ERR_ATTRIBUTE_FILTER_INVALID', 400, 'attr "{filter}" is not key:value (the key is what comes before the first colon, and is not empty)'),
  ALERT_ID_INVALID: define('CHS_ERR_ALERT_ID_INVALID', 400, 'alert id "{alertId}" is not <8 hex digits>-<base-36 time>, as GET /api/alerts gives it'),
  ALERT_NOT_FOUND: define('CHS_ERR_ALERT_NOT_FOUND', 404, 'no alert {alertId} is stored (a pending alert has no id yet; resolved ones go after the retention time)'),
  // any route but /healthz, /readyz and /metrics, when the collector is given tokens
  AUTH_TOKEN_MISSING: define('CHS_ERR_AUTH_TOKEN_MISSING', 401, 'this route needs the {realm} token: send Authorization: Bearer <token>'),
  AUTH_TOKEN_INVALID: define('CHS_ERR_AUTH_TOKEN_INVALID', 401, 'the bearer token sent is not the {realm} token (or the Authorization header is not "Bearer <token>")'),
  // any route
  ROUTE_NOT_FOUND: define('CHS_ERR_ROUTE_NOT_FOUND', 404, 'there is no route {method} {path}'),
  REQUEST_INVALID: define('CHS_ERR_REQUEST_INVALID', 400, 'the request is invalid: {detail}'),
  REQUEST_TIMEOUT: define('CHS_ERR_REQUEST_TIMEOUT', 408, 'the request did not arrive within {timeoutMs} ms; the connection is closed'),
  INTERNAL: define('CHS_ERR_INTERNAL', 500, 'internal error ({detail}); the collector log has the details'),
} as const;

export type ErrorName = keyof typeof ERRORS;

/** The `{name}` placeholders of a template, as the object of values it needs. */
type TemplateParams<Template extends string> = Template extends `${string}{${infer Name}}${infer Rest}`
  ? { [K in Name | keyof TemplateParams<Rest>]: string | number }
  : {};

export class ChsError extends Error {
  readonly code: string;
  readonly statusCode: number;

  constructor(definition: ErrorDefinition, params: Record<string, string | number>) {
    super(definition.message.replace(/\{(\w+)\}/g, (placeholder, name: string) => String(params[name] ?? placeholder)));
    this.name = 'ChsError';
    this.code = definition.code;
    this.statusCode = definition.status;
  }
}

export function chsError<Template extends string>(definition: ErrorDefinition<Template>, params: TemplateParams<Template>): ChsError {
  return new ChsError(definition, params as Record<string, string | number>);
}
