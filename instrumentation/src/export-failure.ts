// Why an export of spans failed, in the terms of what someone running the service must fix: a refused
// token is fixed in the service's configuration, an unreachable collector in the network or the collector.

/** One kind of failure is logged once, however many exports fail that way. */
export type ExportFailureKind = 'token-refused' | 'unreachable' | 'timeout' | `http-${number}` | 'other';

export interface ExportFailure {
  kind: ExportFailureKind;
  /** What went wrong, for a log line. */
  description: string;
}

/** Node's `error.code` when nothing answered at the collector's address. */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EPIPE']);

/**
 * Classifies what the OTLP exporter hands its result callback: an `OTLPExporterError` whose numeric
 * `code` is the HTTP status the collector answered with, or the network error with its string `code`.
 */
export function classifyExportFailure(error: unknown): ExportFailure {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error ?? 'unknown error');
  if (typeof code === 'number') {
    if (code === 401 || code === 403) {
      return {
        kind: 'token-refused',
        description: `the collector refused the credentials (HTTP ${code}): check the ingest token (the headers option or OTEL_EXPORTER_OTLP_HEADERS)`,
      };
    }
    return { kind: `http-${code}`, description: `the collector answered HTTP ${code}${message ? ` ${message}` : ''}` };
  }
  if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) {
    return { kind: 'unreachable', description: `the collector is unreachable (${code})` };
  }
  // The exporter's own timeouts carry no code, only a message ('Request timed out'; the batch processor's 'Timeout').
  if (/timed? ?out/i.test(message)) return { kind: 'timeout', description: `the collector did not answer in time (${message})` };
  return { kind: 'other', description: message };
}
