/**
 * The dashboard (the `dashboard` package, built into its dist/ by esbuild) served at `/` with
 * @fastify/static: one route per built file, so no other path falls to it, and each answer carries a
 * Content-Security-Policy that lets the page run only its own script and style and talk only to this
 * collector. The files hold no data, so they are served without a token: the page asks for the API's
 * token when the API refuses it (dashboard/src/token.ts).
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/**
 * Nothing inline, nothing from elsewhere: scripts and styles from this origin only (D3 sets styles
 * through the DOM, which a policy does not restrict), fetches to this collector, no frames, no forms
 * posted anywhere, no plugins.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'", "font-src 'self'",
  "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
].join('; ');

/** The built dashboard's folder (`dir`, default the dashboard package's dist/), or null when it holds no built page. */
export function dashboardDir(dir?: string): string | null {
  try {
    const found = dir ?? join(dirname(createRequire(import.meta.url).resolve('@choreoscope/dashboard/package.json')), 'dist');
    return existsSync(join(found, 'index.html')) ? found : null;
  } catch {
    return null;
  }
}

/** The routes the dashboard's files answer on: open without a token. */
export function dashboardRoutes(dir: string | null): string[] {
  if (dir === null) return ['/'];
  return ['/', ...readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    // `parentPath` arrived in Node 20.12; `path` is its older name, still there on 20.6
    .map((entry) => `/${join(entry.parentPath ?? (entry as { path: string }).path, entry.name).slice(dir.length + 1).split('\\').join('/')}`)];
}

export async function dashboard(app: FastifyInstance, options: { dir: string | null }): Promise<void> {
  const headers = (set: (name: string, value: string) => void) => {
    set('content-security-policy', DASHBOARD_CSP);
    set('x-content-type-options', 'nosniff');
    set('referrer-policy', 'no-referrer');
  };
  if (options.dir === null) {
    // a collector run from a clone whose dashboard was not built says how to build it, in plain text
    app.get('/', { schema: { hide: true } }, async (_request, reply) => {
      headers((name, value) => reply.header(name, value));
      return reply.type('text/plain; charset=utf-8')
        .send('The dashboard is not built. Run `npm install` (it builds it) or `npm run build --workspace dashboard`, then restart the collector.\n');
    });
    return;
  }
  await app.register(fastifyStatic, {
    root: options.dir,
    wildcard: false,
    index: 'index.html',
    // the page is small and changes with each build: always asked again, answered 304 when unchanged
    cacheControl: true,
    maxAge: 0,
    setHeaders: (reply) => headers((name, value) => reply.header(name, value)),
    schemaHide: true,
  });
}
