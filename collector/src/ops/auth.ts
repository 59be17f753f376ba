/**
 * Bearer tokens, with @fastify/bearer-auth (constant-time comparison), in two realms with tokens of
 * their own: `ingest` (OTLP on /v1/...) and `api` (every other route: the query API, the live feed, a
 * 404). The probes and /metrics stay open: they carry no span data, and the callers (orchestrators,
 * Prometheus) are set up more easily without a token. A realm given no token is open.
 *
 * The realm is chosen by the route that matched, not by the URL's text, so no spelling of a path
 * (percent-encoded, a doubled slash) can reach a route under another realm's rules. A 401 is a
 * catalogue error thrown into the route's own error handler: OTLP's google.rpc.Status on ingest,
 * `ApiErrorBody` elsewhere.
 */
import fastifyBearerAuth from '@fastify/bearer-auth';
import type { FastifyInstance } from 'fastify';
import { ERRORS, chsError } from '../api/errors.ts';
import { HEALTH_PATH, READY_PATH } from '../api/health-routes.ts';
import { METRICS_PATH } from './metrics-route.ts';

export type AuthRealm = 'ingest' | 'api';

export interface AuthTokens {
  /** Accepted on OTLP ingest; none leaves ingest open. */
  ingest: readonly string[];
  /** Accepted on the query API and the live feed the dashboard reads; none leaves them open. */
  api: readonly string[];
}

const OPEN_ROUTES: ReadonlySet<string> = new Set([HEALTH_PATH, READY_PATH, METRICS_PATH]);

/** RFC 6750's b64token: what can follow "Bearer " in a header. */
const TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

export function isValidToken(token: string): boolean {
  return TOKEN.test(token);
}

/** The realm whose token a route needs, from its pattern (undefined when no route matched); null when open. */
export function realmOf(route: string | undefined, openRoutes: ReadonlySet<string> = OPEN_ROUTES): AuthRealm | null {
  if (route !== undefined && (OPEN_ROUTES.has(route) || openRoutes.has(route))) return null;
  return route?.startsWith('/v1/') ? 'ingest' : 'api';
}

/**
 * Adds the check to every request of `app` (call it on the root, before the routes are registered).
 * `openRoutes` are open besides the probes and /metrics: the dashboard's files, which hold no data.
 */
export function requireBearerTokens(app: FastifyInstance, tokens: AuthTokens, openRoutes: readonly string[] = []): void {
  const open = new Set(openRoutes);
  if (tokens.ingest.length === 0 && tokens.api.length === 0) return;
  const verifiers: Partial<Record<AuthRealm, NonNullable<FastifyInstance['verifyBearerAuth']>>> = {};
  // addHook false: the plugin only decorates, and reports a failure to `done` instead of answering it
  app.register(fastifyBearerAuth, { keys: [], addHook: false }).after(() => {
    for (const realm of ['ingest', 'api'] as const) {
      if (tokens[realm].length === 0) continue;
      // a failed check is logged at info without the token: the request log line shows the 401 anyway
      verifiers[realm] = app.verifyBearerAuthFactory!({ keys: [...tokens[realm]], addHook: false, specCompliance: 'rfc6749', verifyErrorLogLevel: 'info' });
    }
  });

  app.addHook('onRequest', (request, reply, done) => {
    const realm = realmOf(request.routeOptions.url, open);
    const verify = realm === null ? undefined : verifiers[realm];
    if (realm === null || verify === undefined) return done();
    verify(request, reply, (error) => {
      if (error === undefined) return done();
      const missing = !request.headers.authorization;
      reply.header('www-authenticate', `Bearer realm="choreoscope-${realm}"${missing ? '' : ', error="invalid_token"'}`);
      done(chsError(missing ? ERRORS.AUTH_TOKEN_MISSING : ERRORS.AUTH_TOKEN_INVALID, { realm }));
    });
  });
}
