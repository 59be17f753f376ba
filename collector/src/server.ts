/**
 * The wiring: builds the collector's Fastify app from a store and options. It never listens — `main.ts`
 * does, and tests listen on port 0. The only module that knows every part.
 */
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { AlertDelivery, type AlertDeliveryOptions } from './alerting/alert-delivery.ts';
import { dashboard, dashboardDir, dashboardRoutes } from './api/dashboard-routes.ts';
import { ChsError, ERRORS, chsError } from './api/errors.ts';
import { healthRoutes } from './api/health-routes.ts';
import { queryRoutes } from './api/query-routes.ts';
import type { ApiErrorBody } from './api/types.ts';
import { DEFAULT_BUSINESS_KEY_ATTRIBUTES } from './core/business-key.ts';
import { FlowWorker, type FlowWorkerOptions } from './flows/flow-worker.ts';
import { Forwarder, type ForwardOptions } from './forwarding/forwarder.ts';
import { DEFAULT_COMMIT_TIMEOUT_MS } from './ingest/commit-budget.ts';
import { encodingOf } from './ingest/otlp-media.ts';
import { statusResponse } from './ingest/otlp-response.ts';
import { TRACES_PATH, tracesRoute } from './ingest/traces-route.ts';
import { requireBearerTokens } from './ops/auth.ts';
import { echoRequestId, loggerOptions, requestIdOf, type LogDestination, type LogLevel } from './ops/logging.ts';
import { metricsRoute, observeRequests } from './ops/metrics-route.ts';
import { CollectorMetrics } from './ops/metrics.ts';
import { clientErrorHandler, httpServerTimeouts, trackRequestsInFlight, type TimeoutAnswer } from './ops/request-timeouts.ts';
import { StoreUnavailableError, type SpanStore } from './store/store.ts';

export type { LogLevel };

export interface ServerOptions {
  /** Where spans go and queries come from. The caller opens it, and closes it after the app. */
  store: SpanStore;
  /** Largest OTLP request body, counted after decompression (and before). Default 20 MiB. */
  maxBodyBytes?: number;
  /** Most spans one export may carry, however small its body (a 413 past it). Default 50_000. */
  maxSpansPerRequest?: number;
  /** Time a request, headers and body, has to arrive from its first byte; then a 408 and the connection closed. Default 30_000. */
  requestTimeoutMs?: number;
  /** Time a connection has to send a request's headers (capped at requestTimeoutMs). Default 10_000. */
  headersTimeoutMs?: number;
  /** Retry-After, in seconds, of the 429 sent when too many spans wait to be stored. Default 1. */
  overloadedRetryAfterSeconds?: number;
  /** Retry-After, in seconds, of the 503 sent when the store is unavailable. Default 5. */
  unavailableRetryAfterSeconds?: number;
  /** An export whose spans are not committed within this is answered 503 with Retry-After (they may be stored later). Default 5_000. */
  commitTimeoutMs?: number;
  /**
   * Span attributes the business key is read from, first found wins. Default `choreoscope.business_key`,
   * `messaging.message.conversation_id`; a user of other instrumentation adds `order.id` or
   * `messaging.kafka.message.key`.
   */
  businessKeyAttributes?: readonly string[];
  /**
   * Flow assembly and description (see FlowWorkerOptions for each setting and its default). `assemble:
   * false` runs no flow worker here; flows are then assembled only by another collector on the same
   * database. Default: assemble when the store queues spans for it.
   */
  flows?: Omit<FlowWorkerOptions, 'metrics' | 'log' | 'notifier'> & { assemble?: boolean };
  /**
   * Where alert notifications go (alerting/alert-delivery.ts): webhook, Alertmanager and Slack receivers,
   * the dashboard's public address for links, retry settings. Default: no receiver; alerts are kept and
   * served by the API. How alerts fire and resolve is `flows.alerts`.
   */
  alerting?: Omit<AlertDeliveryOptions, 'store' | 'metrics' | 'log'>;
  /** Log lines (pino JSON on stdout) at this level and above. Default: no logger at all. */
  logLevel?: LogLevel;
  /** Where log lines go instead of stdout. */
  logDestination?: LogDestination;
  /** Bearer tokens accepted on OTLP ingest (/v1/traces). Default none: ingest is open. */
  ingestTokens?: readonly string[];
  /** Bearer tokens accepted on the query API and every other route but /healthz, /readyz, /metrics. Default none: open. */
  apiTokens?: readonly string[];
  /** What /metrics shows. Give the store the same one, or its commit queue and errors stay at 0. Default: a new one. */
  metrics?: CollectorMetrics;
  /** Send each export that stored new spans on to another OTLP/HTTP endpoint. Default: no forwarding. */
  forward?: ForwardOptions;
  /** The dashboard at `/`: its built files (`dir`, default the dashboard package's dist/), or false for none. */
  dashboard?: { dir?: string } | false;
}

export const DEFAULT_MAX_BODY_BYTES = 20 * 1024 * 1024;
export const DEFAULT_MAX_SPANS_PER_REQUEST = 50_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;

type UnsetByDefault = 'logLevel' | 'logDestination' | 'forward' | 'alerting';
export type ResolvedServerOptions = Required<Omit<ServerOptions, UnsetByDefault>> & Pick<ServerOptions, UnsetByDefault>;

export function resolveServerOptions(options: ServerOptions): ResolvedServerOptions {
  return {
    store: options.store,
    maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    maxSpansPerRequest: options.maxSpansPerRequest ?? DEFAULT_MAX_SPANS_PER_REQUEST,
    requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    headersTimeoutMs: options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS,
    overloadedRetryAfterSeconds: options.overloadedRetryAfterSeconds ?? 1,
    unavailableRetryAfterSeconds: options.unavailableRetryAfterSeconds ?? 5,
    commitTimeoutMs: options.commitTimeoutMs ?? DEFAULT_COMMIT_TIMEOUT_MS,
    businessKeyAttributes: options.businessKeyAttributes ?? DEFAULT_BUSINESS_KEY_ATTRIBUTES,
    flows: options.flows ?? {},
    logLevel: options.logLevel,
    logDestination: options.logDestination,
    ingestTokens: options.ingestTokens ?? [],
    apiTokens: options.apiTokens ?? [],
    metrics: options.metrics ?? new CollectorMetrics(),
    forward: options.forward,
    alerting: options.alerting,
    dashboard: options.dashboard ?? {},
  };
}

/** Longest URL parameter routed (a percent-encoded business key of 512 characters fits). */
const MAX_PARAM_LENGTH = 8 * 1024;
/** /metrics counts the flows active this recently by state: an hour. */
const FLOW_STATES_WINDOW_MS = 3_600_000;

export function buildServer(options: ServerOptions): FastifyInstance {
  const resolved = resolveServerOptions(options);
  const app = Fastify({
    logger: loggerOptions(resolved.logLevel, resolved.logDestination),
    genReqId: requestIdOf,
    bodyLimit: resolved.maxBodyBytes,
    // slow clients: Node drops a request still arriving after these (see ops/request-timeouts.ts)
    requestTimeout: resolved.requestTimeoutMs,
    http: httpServerTimeouts(resolved),
    clientErrorHandler: clientErrorHandler(resolved, timeoutAnswer),
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // errors raised before routing, such as a path with a broken percent-encoding
    frameworkErrors: (error, _request, reply) => sendApiError(reply, chsError(ERRORS.REQUEST_INVALID, { detail: error.message })),
  });

  // the query API's errors; /v1/traces answers its own in OTLP's form
  app.setErrorHandler((error: FastifyError, request, reply) => {
    let chs: ChsError;
    if (error instanceof ChsError) chs = error;
    else if (error instanceof StoreUnavailableError) {
      chs = chsError(ERRORS.STORE_UNAVAILABLE, { retryAfterSeconds: resolved.unavailableRetryAfterSeconds });
      reply.header('retry-after', String(resolved.unavailableRetryAfterSeconds));
    } else if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      chs = chsError(ERRORS.REQUEST_INVALID, { detail: error.message });
    } else {
      request.log.error({ err: error }, 'request failed');
      chs = chsError(ERRORS.INTERNAL, { detail: error.name });
    }
    return sendApiError(reply, chs);
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?', 1)[0]!.slice(0, 256);
    return sendApiError(reply, chsError(ERRORS.ROUTE_NOT_FOUND, { method: request.method, path }));
  });

  // while closing, answers end their keep-alive connections, so close() need not wait for them to idle out
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });

  echoRequestId(app);
  trackRequestsInFlight(app);
  observeRequests(app, resolved.metrics);
  const dashboardFiles = resolved.dashboard === false ? null : dashboardDir(resolved.dashboard.dir);
  requireBearerTokens(app, { ingest: resolved.ingestTokens, api: resolved.apiTokens }, resolved.dashboard === false ? [] : dashboardRoutes(dashboardFiles));
  const forwarder = resolved.forward && new Forwarder(resolved.forward, { queue: resolved.store.forwardQueue, metrics: resolved.metrics, log: app.log });
  if (forwarder) {
    app.addHook('onReady', async () => forwarder.start());
    // onClose runs once the requests in flight have finished, so their batches are queued by then
    app.addHook('onClose', () => forwarder.close());
  } else {
    app.addHook('onReady', async () => warnOfUnforwardedExports(resolved.store, app.log));
  }
  // counted from the store: every collector on the database answers the same, whichever assembles
  if (resolved.store.assemblesFlows) {
    resolved.metrics.countFlowStatesWith(() => resolved.store.flows.countByState(Date.now() - FLOW_STATES_WINDOW_MS));
    resolved.metrics.countAlertsFiringWith(() => resolved.store.alerts.countFiring());
  }
  const assemble = resolved.store.assemblesFlows && resolved.flows.assemble !== false;
  const notifier = assemble && resolved.alerting !== undefined && resolved.alerting.receivers.length > 0
    ? new AlertDelivery({ ...resolved.alerting, store: resolved.store.alerts, metrics: resolved.metrics, log: app.log })
    : undefined;
  const flowWorker = assemble ? new FlowWorker(resolved.store.flows, { ...resolved.flows, notifier, metrics: resolved.metrics, log: app.log }) : undefined;
  if (flowWorker) {
    app.addHook('onReady', async () => flowWorker.start());
    // after the requests in flight: their spans are committed, and stay queued for the next start if unassembled
    app.addHook('onClose', async () => {
      await flowWorker.close();
      await notifier?.close(); // what it had not delivered stays owed in the store
    });
  }

  app.register(tracesRoute, {
    store: resolved.store,
    maxBodyBytes: resolved.maxBodyBytes,
    maxSpansPerRequest: resolved.maxSpansPerRequest,
    overloadedRetryAfterSeconds: resolved.overloadedRetryAfterSeconds,
    unavailableRetryAfterSeconds: resolved.unavailableRetryAfterSeconds,
    commitTimeoutMs: resolved.commitTimeoutMs,
    metrics: resolved.metrics,
    forwarder,
    flowWorker,
    businessKeyAttributes: resolved.businessKeyAttributes,
  });
  app.register(queryRoutes, { store: resolved.store, describeFlows: resolved.flows, flowModel: resolved.flows.model });
  app.register(healthRoutes, { store: resolved.store });
  app.register(metricsRoute, { metrics: resolved.metrics });
  if (resolved.dashboard !== false) app.register(dashboard, { dir: dashboardFiles });
  return app;
}

/** Exports queued by an earlier run with forwarding wait for a run with it again: say so, or they are forgotten. */
async function warnOfUnforwardedExports(store: SpanStore, log: FastifyBaseLogger): Promise<void> {
  const waiting = await store.forwardQueue.size().catch(() => null);
  if (waiting !== null && waiting.batches > 0) {
    log.warn({ batches: waiting.batches, bytes: waiting.bytes }, 'exports queued for forwarding by an earlier run wait: start with --forward-url to send them');
  }
}

function sendApiError(reply: FastifyReply, chs: ChsError): FastifyReply {
  return reply.code(chs.statusCode).send(apiErrorBody(chs));
}

function apiErrorBody(chs: ChsError): ApiErrorBody {
  return { error: { code: chs.code, message: chs.message } };
}

/** A 408 in the form of the route the request was for: OTLP's on /v1/traces, else the API's. */
const timeoutAnswer: TimeoutAnswer = (request, chs) => {
  if (request !== undefined && request.url.split('?', 1)[0] === TRACES_PATH) {
    return statusResponse(encodingOf(request.headers['content-type']) ?? 'json', chs);
  }
  return { contentType: 'application/json', body: JSON.stringify(apiErrorBody(chs)) };
};
