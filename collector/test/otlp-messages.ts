/**
 * OTLP protobuf messages for tests, built and read with the collector's own schema: an export request
 * from span objects (ids as bytes), and the message and ErrorInfo reason of an error answer.
 */
import assert from 'node:assert/strict';
import { ExportTraceServiceRequest, RpcErrorInfo, RpcStatus } from '../src/ingest/otlp-schema.ts';
import { spanId, traceId, type Answer } from './helpers.ts';

export const PROTOBUF_TYPE = { 'content-type': 'application/x-protobuf' };

/** One span of a protobuf request, valid unless `fields` says otherwise. */
export const protobufSpan = (fields: Record<string, unknown> = {}) => ({
  traceId: Buffer.from(traceId(), 'hex'),
  spanId: Buffer.from(spanId(), 'hex'),
  name: 'p',
  startTimeUnixNano: '1700000000000000000',
  endTimeUnixNano: '1700000000000000001',
  ...fields,
});

export function protobufRequest(spans: Record<string, unknown>[]): Uint8Array {
  const request = { resourceSpans: [{ scopeSpans: [{ spans }] }] };
  return ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(request)).finish();
}

/** The message and ErrorInfo reason of a google.rpc.Status answer in the given encoding. */
export function readStatus(answer: Answer, encoding: 'json' | 'protobuf'): { message: string; reason: string } {
  if (encoding === 'json') {
    const detail = answer.json.details[0];
    assert.equal(detail['@type'], 'type.googleapis.com/google.rpc.ErrorInfo');
    assert.equal(detail.domain, 'choreoscope');
    return { message: answer.json.message, reason: detail.reason };
  }
  const status = RpcStatus.toObject(RpcStatus.decode(answer.body)) as { message: string; details: { typeUrl: string; value: Uint8Array }[] };
  assert.equal(status.details[0]!.typeUrl, 'type.googleapis.com/google.rpc.ErrorInfo');
  const info = RpcErrorInfo.toObject(RpcErrorInfo.decode(status.details[0]!.value)) as { reason: string };
  return { message: status.message, reason: info.reason };
}
