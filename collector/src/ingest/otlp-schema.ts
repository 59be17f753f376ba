/**
 * The protobuf messages of OTLP/HTTP traces, declared in ./proto (written from opentelemetry-proto's
 * field numbers) and parsed once with protobufjs into one root, so cross-file references resolve.
 */
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';

const PROTO_FILES = ['common.proto', 'resource.proto', 'trace.proto', 'trace_service.proto', 'status.proto'];

function loadRoot(): protobuf.Root {
  const root = new protobuf.Root();
  for (const file of PROTO_FILES) {
    protobuf.parse(readFileSync(new URL(`./proto/${file}`, import.meta.url), 'utf8'), root);
  }
  root.resolveAll();
  return root;
}

const root = loadRoot();

export const ExportTraceServiceRequest = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
export const ExportTraceServiceResponse = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse');
export const RpcStatus = root.lookupType('google.rpc.Status');
export const RpcErrorInfo = root.lookupType('google.rpc.ErrorInfo');

/** `Any.type_url` of an ErrorInfo detail, in protobuf and (as `@type`) in JSON. */
export const ERROR_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.ErrorInfo';
