/**
 * OTLP/HTTP answers, in the encoding of the request: an ExportTraceServiceResponse (with
 * `partialSuccess` when spans were rejected or the sender has something to fix) for a 200, and a
 * google.rpc.Status whose ErrorInfo detail carries the CHS_ERR_... code for a 4xx or 5xx.
 */
import type { ChsError } from '../api/errors.ts';
import { contentTypeOf, type OtlpEncoding } from './otlp-media.ts';
import { ERROR_INFO_TYPE_URL, ExportTraceServiceResponse, RpcErrorInfo, RpcStatus } from './otlp-schema.ts';
import type { DecodedSpans } from './to-span-records.ts';

/** The domain of the ErrorInfo details Choreoscope sends. */
export const ERROR_DOMAIN = 'choreoscope';
/** Reasons listed in a partial success message, at most; the rest are counted. */
const MAX_REASONS_LISTED = 10;

export interface OtlpAnswer {
  contentType: string;
  body: Buffer;
}

export interface PartialSuccess {
  rejectedSpans: number;
  errorMessage: string;
}

/** Null when every span was accepted and there is nothing to say: OTLP leaves the field unset then. */
export function partialSuccessOf(decoded: Pick<DecodedSpans, 'rejections' | 'warnings'>): PartialSuccess | null {
  const { rejections, warnings } = decoded;
  if (rejections.length === 0 && warnings.length === 0) return null;
  const parts: string[] = [];
  if (rejections.length > 0) {
    const listed = rejections.slice(0, MAX_REASONS_LISTED).map((r) => `${r.path}: ${r.reason}`);
    const more = rejections.length - listed.length;
    parts.push(`rejected ${rejections.length} span(s): ${listed.join('; ')}${more > 0 ? `; and ${more} more` : ''}`);
  }
  parts.push(...warnings);
  return { rejectedSpans: rejections.length, errorMessage: parts.join('. ') };
}

export function exportResponse(encoding: OtlpEncoding, partialSuccess: PartialSuccess | null): OtlpAnswer {
  if (encoding === 'json') {
    // proto3 JSON writes int64 as a decimal string
    const body = partialSuccess === null ? {} : {
      partialSuccess: { rejectedSpans: String(partialSuccess.rejectedSpans), errorMessage: partialSuccess.errorMessage },
    };
    return { contentType: contentTypeOf(encoding), body: Buffer.from(JSON.stringify(body)) };
  }
  const message = ExportTraceServiceResponse.fromObject(partialSuccess === null ? {} : { partialSuccess });
  return { contentType: contentTypeOf(encoding), body: Buffer.from(ExportTraceServiceResponse.encode(message).finish()) };
}

export function statusResponse(encoding: OtlpEncoding, error: ChsError): OtlpAnswer {
  const code = rpcCodeOf(error.statusCode);
  if (encoding === 'json') {
    const body = {
      code,
      message: error.message,
      details: [{ '@type': ERROR_INFO_TYPE_URL, reason: error.code, domain: ERROR_DOMAIN }],
    };
    return { contentType: contentTypeOf(encoding), body: Buffer.from(JSON.stringify(body)) };
  }
  const errorInfo = RpcErrorInfo.encode(RpcErrorInfo.fromObject({ reason: error.code, domain: ERROR_DOMAIN })).finish();
  const status = RpcStatus.fromObject({ code, message: error.message, details: [{ typeUrl: ERROR_INFO_TYPE_URL, value: errorInfo }] });
  return { contentType: contentTypeOf(encoding), body: Buffer.from(RpcStatus.encode(status).finish()) };
}

/** The google.rpc.Code nearest an HTTP status. OTLP clients act on the HTTP status, not on this. */
function rpcCodeOf(httpStatus: number): number {
  switch (httpStatus) {
    case 404: return 5; // NOT_FOUND
    case 405: return 12; // UNIMPLEMENTED
    case 413:
    case 429: return 8; // RESOURCE_EXHAUSTED
    case 503: return 14; // UNAVAILABLE
    default: return httpStatus >= 500 ? 13 /* INTERNAL */ : 3 /* INVALID_ARGUMENT */;
  }
}
