/**
 * The dashboard served at `/` by a real collector: its built files without a token (they hold no data)
 * while the API beside them asks for one; a Content-Security-Policy allowing only the page's own script
 * and style; no other path falls to the static files; a collector whose dashboard is not built says how
 * to build it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DASHBOARD_CSP, dashboardDir } from '../src/api/dashboard-routes.ts';
import { makeTempDir, removeDir, send, startCollector, type RunningCollector } from './helpers.ts';
import { pgliteStores } from './stores.ts';

let collector: RunningCollector;
const TOKEN = 'dashboard-route-token';

before(async () => {
  collector = await startCollector(pgliteStores, { server: { apiTokens: [TOKEN] } });
});
after(() => collector.close());

test('the page and its files answer without a token, with a policy that runs only its own script; the API beside them asks for one', async () => {
  const dir = dashboardDir();
  assert.ok(dir !== null, 'the test command builds the dashboard first');
  const page = await send(`${collector.url}/`, {});
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type')!, /^text\/html/);
  assert.equal(page.text, readFileSync(join(dir, 'index.html'), 'utf8'));
  assert.equal(page.headers.get('content-security-policy'), DASHBOARD_CSP);
  assert.match(DASHBOARD_CSP, /script-src 'self'(;|$)/);
  assert.doesNotMatch(DASHBOARD_CSP, /unsafe-inline|unsafe-eval|\*/);
  assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
  const script = await send(`${collector.url}/app.js`, {});
  assert.equal(script.status, 200);
  assert.match(script.headers.get('content-type')!, /javascript/);
  assert.ok(script.body.length > 10_000, 'd3 and the views, bundled: nothing from a CDN');
  assert.doesNotMatch(readFileSync(join(dir, 'index.html'), 'utf8'), /https?:\/\//, 'the page loads nothing from elsewhere');

  assert.equal((await send(`${collector.url}/api/model`, {})).json.error.code, 'CHS_ERR_AUTH_TOKEN_MISSING');
  assert.equal((await send(`${collector.url}/api/model`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
  const elsewhere = await send(`${collector.url}/no-such-file.js`, {});
  assert.equal(elsewhere.status, 401, 'an unknown path is the API\'s, not the dashboard\'s: it needs the token');
  const traversal = await send(`${collector.url}/..%2f..%2fpackage.json`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(traversal.status, 404);
});

test('a collector whose dashboard was not built says how to build it', async () => {
  const empty = makeTempDir();
  const bare = await startCollector(pgliteStores, { server: { dashboard: { dir: empty } } });
  try {
    const page = await send(`${bare.url}/`, {});
    assert.equal(page.status, 200);
    assert.match(page.text, /The dashboard is not built\. Run `npm install`/);
    assert.match(page.headers.get('content-type')!, /^text\/plain/);
  } finally {
    await bare.close();
    removeDir(empty);
  }
});
