/**
 * The collector's log: Fastify's pino logger, one JSON object a line, each request's lines carrying its
 * id (`reqId`), echoed to the caller as X-Request-Id. Credentials are redacted wherever a line holds
 * headers: Fastify's request lines do not log headers, but an error or a plugin's line may.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Where log lines go: pino writes each line with one call. */
export interface LogDestination {
  write(line: string): void;
}

export const REQUEST_ID_HEADER = 'x-request-id';
/** A caller's request id is kept when it is this plain (a proxy's or a client's id); anything else gets a new one. */
const PLAIN_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const SECRET_HEADERS = ['authorization', 'proxy-authorization', 'cookie'];
const REDACTED_PATHS = SECRET_HEADERS.flatMap((name) => [`headers["${name}"]`, `*.headers["${name}"]`]);

/** Fastify's `logger` option: none without a level, else pino JSON at that level with secrets redacted. */
export function loggerOptions(level: LogLevel | undefined, destination: LogDestination | undefined): FastifyServerOptions['logger'] {
  if (level === undefined) return false;
  return {
    level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    ...(destination === undefined ? {} : { stream: destination }),
  };
}

export function requestIdOf(request: IncomingMessage): string {
  const given = request.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && PLAIN_REQUEST_ID.test(given) ? given : randomUUID();
}

/** Answers every request of `app` with its id, so a caller can quote it and find the log lines. */
export function echoRequestId(app: FastifyInstance): void {
  app.addHook('onRequest', (request, reply, done) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    done();
  });
}
