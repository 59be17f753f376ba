/**
 * POST /v1/traces, OTLP/HTTP: read the body (gunzipped, bounded), decode it, validate each span, and
 * answer 200 only once the accepted spans are committed. Every outcome is an answer in the request's
 * encoding (JSON when the request named no supported one): 200 with an ExportTraceServiceResponse, or
 * a google.rpc.Status with the status and code of the error catalogue. Other methods get 405.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ChsError, ERRORS, chsError } from '../api/errors.ts';
import type { CollectorMetrics, SpanRejectionReason } from '../ops/metrics.ts';
import { StoreOverloadedError, StoreRejectedDataError, StoreUnavailableError, type SpanStore } from '../store/store.ts';
import { CommitTimeoutError, withinCommitBudget } from './commit-budget.ts';
import { decodeExportRequest } from './otlp-decode.ts';
import { compressionOf, encodingOf, type OtlpEncoding } from './otlp-media.ts';
import { exportResponse, partialSuccessOf, statusResponse, type OtlpAnswer } from './otlp-response.ts';
import { BodyAbortedError, BodyTooLargeError, GzipError, readBody } from './read-body.ts';
import { toSpanRecords } from './to-span-records.ts';

export interface TracesRouteOptions {
  store: SpanStore;
  maxBodyBytes: number;
  /** More spans than this in one export is a 413: committing them at once would stall every other request. */
  maxSpansPerRequest: number;
  overloadedRetryAfterSeconds: number;
  unavailableRetryAfterSeconds: number;
  /** An export whose spans are not committed within this is answered 503 (commit-budget.ts). */
  commitTimeoutMs: number;
  metrics: CollectorMetrics;
  /**
   * When given, each export is handed to the store to be queued for forwarding (in the transaction
   * that stores its spans, if any is new), and the forwarder told once it is.
   */
  forwarder?: { queued(): void };
  /** Told when an export stored new spans, so flow assembly runs at once rather than at its next poll. */
  flowWorker?: { wake(): void };
  /** The span attributes a business key is read from, first found wins. */
  businessKeyAttributes: readonly string[];
}

export const TRACES_PATH = '/v1/traces';
const OTHER_METHODS = ['GET', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;

/** An encapsulated plugin: its catch-all body parser (the handler streams the body) stays inside it. */
export async function tracesRoute(app: FastifyInstance, options: TracesRouteOptions): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));

  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    const status = error.statusCode ?? 500;
    // a ChsError comes from a hook (a missing token); any other error from Fastify or a bug
    const answer = error instanceof ChsError ? error : status >= 400 && status < 500
      ? chsError(ERRORS.REQUEST_INVALID, { detail: error.message })
      : chsError(ERRORS.INTERNAL, { detail: error.name });
    if (status >= 500) request.log.error({ err: error }, 'OTLP ingest failed');
    return send(reply, answer.statusCode, statusResponse(answerEncoding(request), answer));
  });

  app.post(TRACES_PATH, async (request, reply) => {
    let spans: { received: number; rejected: number } | undefined;
    try {
      const decoded = await decodeRequest(request, options.maxBodyBytes, options.businessKeyAttributes);
      const received = decoded.spans.length + decoded.rejections.length;
      if (received > options.maxSpansPerRequest) {
        throw chsError(ERRORS.OTLP_TOO_MANY_SPANS, { spans: received, maxSpansPerRequest: options.maxSpansPerRequest });
      }
      spans = { received, rejected: decoded.rejections.length };
      const forward = options.forwarder && { body: decoded.body, contentType: request.headers['content-type']! };
      const written = await withinCommitBudget(options.store.writeSpans(decoded.spans, forward), options.commitTimeoutMs, (outcome) => {
        // answered 503 already: the spans it stored after all count, and go on to the forward target
        if ('error' in outcome) return;
        options.metrics.storedAfterCommitTimeout(outcome.value);
        if (outcome.value.stored > 0) {
          options.forwarder?.queued();
          options.flowWorker?.wake();
        }
        request.log.info({ stored: outcome.value.stored }, 'spans committed after their export was answered 503');
      });
      options.metrics.exportStored({ ...spans, ...written });
      if (written.stored > 0) {
        options.forwarder?.queued();
        options.flowWorker?.wake();
      }
      if (decoded.rejections.length > 0) request.log.info({ rejectedSpans: decoded.rejections.length }, 'spans rejected');
      return send(reply, 200, exportResponse(decoded.encoding, partialSuccessOf(decoded)));
    } catch (error) {
      const { chs, retryAfterSeconds, spansRefusedAs } = toChsError(error, options);
      if (spans !== undefined && spansRefusedAs !== undefined) options.metrics.exportRefused(spans, spansRefusedAs);
      if (chs.statusCode >= 500) request.log.warn({ code: chs.code }, chs.message);
      if (retryAfterSeconds !== undefined) reply.header('retry-after', String(retryAfterSeconds));
      return send(reply, chs.statusCode, statusResponse(answerEncoding(request), chs));
    }
  });

  app.route({
    method: [...OTHER_METHODS],
    url: TRACES_PATH,
    exposeHeadRoute: false,
    handler: async (request, reply) => {
      const chs = chsError(ERRORS.OTLP_METHOD_NOT_ALLOWED, { method: request.method });
      reply.header('allow', 'POST');
      return send(reply, chs.statusCode, statusResponse(answerEncoding(request), chs));
    },
  });
}

async function decodeRequest(request: FastifyRequest, maxBodyBytes: number, businessKeyAttributes: readonly string[]) {
  const encoding = encodingOf(request.headers['content-type']);
  if (encoding === null) {
    throw chsError(ERRORS.OTLP_CONTENT_TYPE_UNSUPPORTED, { contentType: request.headers['content-type'] ?? '(none)' });
  }
  const compression = compressionOf(request.headers['content-encoding']);
  if (compression === null) {
    throw chsError(ERRORS.OTLP_CONTENT_ENCODING_UNSUPPORTED, { contentEncoding: request.headers['content-encoding'] ?? '' });
  }
  // a declared length over the limit is refused unread (Node discards the body after the answer)
  if (Number(request.headers['content-length']) > maxBodyBytes) throw new BodyTooLargeError(maxBodyBytes);
  const body = await readBody(request.raw, { compression, maxBodyBytes });
  const exportRequest = decodeExportRequest(body, encoding);
  const decoded = exportRequest.ok ? toSpanRecords(exportRequest.request, businessKeyAttributes) : exportRequest;
  if (!decoded.ok) {
    throw chsError(ERRORS.OTLP_BODY_UNDECODABLE, { encoding: encoding === 'json' ? 'JSON' : 'protobuf', detail: decoded.problem });
  }
  return { ...decoded, encoding, body };
}

/** The catalogue error answering `error`; for a store's refusal, also the reason the spans count as rejected under. */
function toChsError(
  error: unknown,
  options: TracesRouteOptions,
): { chs: ChsError; retryAfterSeconds?: number; spansRefusedAs?: Exclude<SpanRejectionReason, 'invalid'> } {
  if (error instanceof ChsError) return { chs: error };
  if (error instanceof BodyTooLargeError) return { chs: chsError(ERRORS.OTLP_BODY_TOO_LARGE, { maxBodyBytes: error.maxBodyBytes }) };
  if (error instanceof GzipError) return { chs: chsError(ERRORS.OTLP_GZIP_INVALID, { detail: error.message }) };
  if (error instanceof StoreRejectedDataError) {
    return { chs: chsError(ERRORS.OTLP_SPANS_UNSTORABLE, { detail: error.message }), spansRefusedAs: 'unstorable' };
  }
  if (error instanceof StoreOverloadedError) {
    const retryAfterSeconds = options.overloadedRetryAfterSeconds;
    return { chs: chsError(ERRORS.INGEST_OVERLOADED, { retryAfterSeconds }), retryAfterSeconds, spansRefusedAs: 'overloaded' };
  }
  if (error instanceof StoreUnavailableError) {
    const retryAfterSeconds = options.unavailableRetryAfterSeconds;
    return { chs: chsError(ERRORS.STORE_UNAVAILABLE, { retryAfterSeconds }), retryAfterSeconds, spansRefusedAs: 'store_unavailable' };
  }
  if (error instanceof CommitTimeoutError) {
    const retryAfterSeconds = options.unavailableRetryAfterSeconds;
    const chs = chsError(ERRORS.STORE_COMMIT_TIMEOUT, { commitTimeoutMs: error.commitTimeoutMs, retryAfterSeconds });
    return { chs, retryAfterSeconds, spansRefusedAs: 'commit_timeout' };
  }
  if (error instanceof BodyAbortedError) return { chs: chsError(ERRORS.REQUEST_INVALID, { detail: error.message }) };
  throw error; // a bug: the scope's error handler logs it and answers 500
}

function answerEncoding(request: FastifyRequest): OtlpEncoding {
  return encodingOf(request.headers['content-type']) ?? 'json';
}

function send(reply: FastifyReply, status: number, answer: OtlpAnswer): FastifyReply {
  return reply.code(status).type(answer.contentType).send(answer.body);
}
