/**
 * Body bytes to a plain-object ExportTraceServiceRequest, in either encoding, for `toSpanRecords`.
 * Protobuf goes through protobufjs and `toObject` (ids stay bytes, 64-bit numbers become decimal
 * strings, enums numbers); JSON is parsed as it is. Pure; a body that does not decode is a problem
 * string, never an exception.
 */
import type { OtlpEncoding } from './otlp-media.ts';
import { ExportTraceServiceRequest } from './otlp-schema.ts';

export type DecodedBody = { ok: true; request: unknown } | { ok: false; problem: string };

export function decodeExportRequest(body: Uint8Array, encoding: OtlpEncoding): DecodedBody {
  try {
    if (encoding === 'protobuf') {
      // an empty body is an empty request, which OTLP answers with success
      const message = ExportTraceServiceRequest.decode(body);
      return { ok: true, request: ExportTraceServiceRequest.toObject(message, { longs: String, enums: Number }) };
    }
    if (body.length === 0) return { ok: false, problem: 'the body is empty' };
    const request: unknown = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.length).toString('utf8'));
    if (typeof request !== 'object' || request === null || Array.isArray(request)) {
      return { ok: false, problem: 'the body must be a JSON object' };
    }
    return { ok: true, request };
  } catch (error) {
    // protobufjs and JSON.parse throw on bad input; a RangeError also covers absurd nesting
    return { ok: false, problem: error instanceof Error ? error.message : String(error) };
  }
}
