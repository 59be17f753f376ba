/**
 * A request its route's JSON schema refused, as the catalogue error that names what is wrong. Ajv stops
 * at the first error (Fastify's default, against denial of service), so one parameter is named: the
 * error's path gives the parameter, and the parameter gives the code.
 */
import type { FastifyError, FastifyRequest } from 'fastify';
import { MAX_BUSINESS_KEY_CHARS } from '../core/business-key.ts';
import { ChsError, ERRORS, chsError } from './errors.ts';
import { timeFormatProblem } from './search-query.ts';

interface SchemaError {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
  /** Set by `propertyNames`: the name of a query parameter the route does not take. */
  propertyName?: string;
}

interface RouteSchema {
  querystring?: { properties?: Record<string, { maximum?: number }> };
}

/** The catalogue error for a failed validation; undefined for any other error. */
export function toParameterError(error: FastifyError, request: FastifyRequest): ChsError | undefined {
  const first = error.validation?.[0] as SchemaError | undefined;
  if (first === undefined) return undefined;
  const queryProperties = (request.routeOptions.schema as RouteSchema | undefined)?.querystring?.properties ?? {};
  if (first.propertyName !== undefined && error.validationContext === 'body') {
    const known = Object.keys((request.routeOptions.schema as { body?: { properties?: object } } | undefined)?.body?.properties ?? {});
    return chsError(ERRORS.REQUEST_INVALID, { detail: `unknown field "${show(first.propertyName)}" in the body: it takes ${known.join(', ')}` });
  }
  if (first.propertyName !== undefined) {
    return chsError(ERRORS.QUERY_PARAMETER_UNKNOWN, { parameter: show(first.propertyName), known: Object.keys(queryProperties).join(', ') });
  }
  const [, parameter, index] = first.instancePath.split('/');
  if (parameter === undefined) return chsError(ERRORS.REQUEST_INVALID, { detail: `${error.validationContext} ${first.message ?? 'is invalid'}` });
  const source = error.validationContext === 'params' ? request.params : error.validationContext === 'body' ? request.body : request.query;
  const given = (source as Record<string, unknown>)[parameter];
  const value = show(index === undefined ? given : (given as unknown[])[Number(index)]);

  switch (parameter) {
    case 'traceId': return chsError(ERRORS.TRACE_ID_INVALID, { traceId: value });
    case 'spanId': return chsError(ERRORS.SPAN_ID_INVALID, { spanId: value });
    case 'flowId': return chsError(ERRORS.FLOW_ID_INVALID, { flowId: value });
    case 'alertId': return chsError(ERRORS.ALERT_ID_INVALID, { alertId: value });
    case 'businessKey': return chsError(ERRORS.BUSINESS_KEY_INVALID, { maxChars: MAX_BUSINESS_KEY_CHARS, length: String(given).length });
    case 'limit': return chsError(ERRORS.QUERY_LIMIT_INVALID, { max: queryProperties.limit?.maximum ?? 0, limit: value });
    case 'cursor': return chsError(ERRORS.QUERY_CURSOR_INVALID, { cursor: value });
    case 'start':
    case 'end': return chsError(ERRORS.QUERY_TIME_INVALID, { detail: timeFormatProblem(parameter, value) });
    case 'attr':
      if (index !== undefined) return chsError(ERRORS.ATTRIBUTE_FILTER_INVALID, { filter: value });
  }
  return chsError(ERRORS.PARAMETER_INVALID, { parameter, problem: `${describe(first)}, not "${value}"` });
}

/**
 * Ajv's type coercion turns "1e309" or "Infinity" into Infinity and then lets it past every numeric
 * keyword (minimum, maximum, integer) of the schema, so a numeric query parameter is checked once more
 * here, and refused as its schema would have refused it.
 */
export function nonFiniteParameterError(request: FastifyRequest): ChsError | undefined {
  for (const [parameter, value] of Object.entries((request.query ?? {}) as Record<string, unknown>)) {
    if (typeof value !== 'number' || Number.isFinite(value)) continue;
    const validation: SchemaError[] = [{ keyword: 'type', instancePath: `/${parameter}`, message: 'must be a finite number', params: {} }];
    return toParameterError({ validation, validationContext: 'querystring' } as unknown as FastifyError, request);
  }
  return undefined;
}

function describe(error: SchemaError): string {
  if (error.keyword === 'enum') return `must be one of ${(error.params.allowedValues as unknown[]).join(', ')}`;
  return error.message ?? 'is invalid';
}

/** A value as a message shows it: at most 64 characters. */
function show(value: unknown): string {
  return String(value).slice(0, 64);
}
