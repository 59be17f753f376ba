/**
 * Slow clients (slowloris): Node's HTTP server gives each request `headersTimeoutMs` for its headers and
 * `requestTimeoutMs` for the whole of it, body included, then reports ERR_HTTP_REQUEST_TIMEOUT. This
 * answers that with a 408 carrying CHS_ERR_REQUEST_TIMEOUT (in the route's error form when the headers
 * had arrived), logs one warning, and closes the connection, so a slow client holds neither a socket nor
 * a body buffer past the deadline.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ERRORS, chsError, type ChsError } from '../api/errors.ts';

export interface RequestTimeouts {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
}

/** The answer to a timed-out request: `request` is undefined when its headers never all arrived. */
export type TimeoutAnswer = (request: FastifyRequest | undefined, error: ChsError) => { contentType: string; body: string | Uint8Array };

/** How often Node looks for expired requests: its default, 30 s, would let a request run up to twice its timeout. */
const MAX_CHECK_INTERVAL_MS = 1_000;

/** The `http.createServer` options that make Node enforce the timeouts (Fastify sets `requestTimeout` itself). */
export function httpServerTimeouts(timeouts: RequestTimeouts): { headersTimeout: number; connectionsCheckingInterval: number } {
  const headersTimeout = Math.min(timeouts.headersTimeoutMs, timeouts.requestTimeoutMs);
  return { headersTimeout, connectionsCheckingInterval: Math.max(10, Math.min(MAX_CHECK_INTERVAL_MS, Math.floor(headersTimeout / 4))) };
}

/** The request each connection is receiving, from its headers until its answer, for the 408's form. */
const inFlight = new WeakMap<Socket, FastifyRequest>();

/** Requests answered 408 here: /metrics counts them as 408 when their connection closes (ops/metrics-route.ts). */
const timedOut = new WeakSet<FastifyRequest>();

/** Whether `request` ran out of time and was answered 408 by the client error handler. */
export function requestTimedOut(request: FastifyRequest): boolean {
  return timedOut.has(request);
}

export function trackRequestsInFlight(app: FastifyInstance): void {
  app.addHook('onRequest', async (request) => {
    inFlight.set(request.raw.socket, request);
  });
  app.addHook('onResponse', async (request) => {
    if (inFlight.get(request.raw.socket) === request) inFlight.delete(request.raw.socket);
  });
}

/**
 * A Fastify `clientErrorHandler` (Node's 'clientError'): a timeout is a 408, logged once; any other error
 * before routing (malformed HTTP, headers too large) a 400. Both written straight to the socket, then closed.
 */
export function clientErrorHandler(timeouts: RequestTimeouts, answer: TimeoutAnswer) {
  return function onClientError(this: FastifyInstance, error: Error & { code?: string }, socket: Socket): void {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const request = inFlight.get(socket);
    let chs: ChsError;
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      const timeoutMs = request === undefined ? httpServerTimeouts(timeouts).headersTimeout : timeouts.requestTimeoutMs;
      chs = chsError(ERRORS.REQUEST_TIMEOUT, { timeoutMs });
      if (request !== undefined) timedOut.add(request);
      (request?.log ?? this.log).warn({ code: chs.code, remoteAddress: socket.remoteAddress, headersReceived: request !== undefined }, chs.message);
    } else {
      chs = chsError(ERRORS.REQUEST_INVALID, { detail: error.code ?? error.message });
      this.log.debug({ err: error }, 'client error');
    }
    const { contentType, body } = answer(request, chs);
    const bytes = Buffer.from(body);
    const requestId = request === undefined ? '' : `X-Request-Id: ${request.id}\r\n`;
    if (socket.writable) {
      const head = `HTTP/1.1 ${chs.statusCode} ${STATUS_CODES[chs.statusCode]}\r\nContent-Type: ${contentType}\r\nContent-Length: ${bytes.length}\r\n${requestId}Connection: close\r\n\r\n`;
      socket.end(Buffer.concat([Buffer.from(head), bytes]));
    }
    // a client still trickling bytes must not keep the socket half open
    setTimeout(() => socket.destroy(), 1_000).unref();
  };
}
