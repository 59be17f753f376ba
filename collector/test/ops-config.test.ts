import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readConfig, type CollectorConfig } from '../src/config.ts';
import { freshDataDir, jsonRequest, jsonSpan, makeTempDir, postTraces, removeDir, send, spawnCollector } from './helpers.ts';

function config(argv: string[], env: Record<string, string> = {}): CollectorConfig {
  const result = readConfig(argv, env);
  assert.equal(result.kind, 'config', result.kind === 'error' ? result.message : '');
  return (result as { config: CollectorConfig }).config;
}

function error(argv: string[], env: Record<string, string> = {}): string {
  const result = readConfig(argv, env);
  assert.equal(result.kind, 'error');
  return (result as { message: string }).message;
}

test('tokens come from the flag, its variable, and the lines of a token file, one realm apart from the other', () => {
  const dir = makeTempDir();
  try {
    const file = join(dir, 'ingest-tokens');
    writeFileSync(file, 'rotated-out-1\n\n  current-2  \n');
    const c = config(['--ingest-token', 'flag-token', '--ingest-token-file', file], { CHOREOSCOPE_API_TOKEN: 'api.token~9' });
    assert.deepEqual(c.ingestTokens, ['flag-token', 'rotated-out-1', 'current-2']);
    assert.deepEqual(c.apiTokens, ['api.token~9']);
    assert.deepEqual(config([], { CHOREOSCOPE_API_TOKEN_FILE: file }).apiTokens, ['rotated-out-1', 'current-2']);

    writeFileSync(file, '\n');
    assert.match(error(['--api-token-file', file]), /--api-token-file \(CHOREOSCOPE_API_TOKEN_FILE\): .* holds no token/);
    assert.match(error(['--ingest-token-file', join(dir, 'missing')]), /--ingest-token-file .*cannot read/);
  } finally {
    removeDir(dir);
  }
});

test('a token that cannot follow "Bearer " is refused without being repeated', () => {
  const message = error(['--api-token', 'has a space']);
  assert.match(message, /--api-token \(CHOREOSCOPE_API_TOKEN, or its file\): a token is letters, digits/);
  assert.doesNotMatch(message, /has a space/);
});

test('forwarding: an http(s) URL, and headers in OTEL_EXPORTER_OTLP_HEADERS form', () => {
  const c = config(['--forward-url', 'https://tempo.internal:4318/v1/traces'], { CHOREOSCOPE_FORWARD_HEADER: 'Authorization=Bearer%20abc, X-Scope-OrgID=team-a' });
  assert.equal(c.forwardUrl, 'https://tempo.internal:4318/v1/traces');
  assert.deepEqual(c.forwardHeaders, { authorization: 'Bearer abc', 'x-scope-orgid': 'team-a' });

  assert.match(error(['--forward-url', 'ftp://example/v1/traces']), /--forward-url .* must be an http:\/\/ or https:\/\/ URL/);
  assert.match(error(['--forward-url', 'http://user:secret@example/v1/traces']), /without user:password/);
  assert.match(error(['--forward-header', 'a=b']), /--forward-header is given without --forward-url/);
  assert.match(error(['--forward-timeout-ms', '500']), /--forward-timeout-ms is given without --forward-url/);
  assert.equal(config(['--forward-url', 'http://127.0.0.1:4318/v1/traces', '--forward-timeout-ms', '500']).forwardTimeoutMs, 500);
  assert.match(error(['--forward-url', 'http://127.0.0.1:4318/v1/traces', '--forward-timeout-ms', '0']), /--forward-timeout-ms \(CHOREOSCOPE_FORWARD_TIMEOUT_MS\) must be an integer from 1/);
  const url = ['--forward-url', 'http://127.0.0.1:4318/v1/traces'];
  for (const header of ['novalue', '=x', 'a=%zz', 'a=line%0Abreak']) {
    assert.match(error([...url, '--forward-header', header]), /must be name=value pairs/, header);
  }
});

test('the CLI guards ingest and the API with tokens from a flag and a file, logs JSON without them, and serves /metrics', async () => {
  const dataDir = await freshDataDir();
  const tokenFile = join(dataDir, '..', 'api-token');
  writeFileSync(tokenFile, 'cli-api-token-5e1\n');
  const collector = await spawnCollector(['--data-dir', dataDir, '--api-token-file', tokenFile, '--ingest-token', 'cli-ingest-token-77b']);
  try {
    const body = JSON.stringify(jsonRequest([jsonSpan()]));
    assert.equal((await postTraces(collector.url, body)).status, 401);
    const authorized = { 'content-type': 'application/json', authorization: 'Bearer cli-ingest-token-77b' };
    assert.equal((await postTraces(collector.url, body, authorized)).status, 200);
    assert.equal((await send(`${collector.url}/api/traces/${'ab'.repeat(16)}`, {})).status, 401);
    assert.equal((await send(`${collector.url}/api/traces/${'ab'.repeat(16)}`, { headers: { authorization: 'Bearer cli-api-token-5e1' } })).status, 404);
    const metrics = await send(`${collector.url}/metrics`, {});
    assert.match(metrics.text, /^choreoscope_spans_stored_total 1$/m);
    assert.match(metrics.text, /^choreoscope_commit_queue_spans 0$/m);
  } finally {
    collector.child.kill('SIGTERM');
    await collector.exited;
    removeDir(join(dataDir, '..'));
  }
  const logLines = collector.output().split('\n').filter((line) => line.startsWith('{'));
  assert.ok(logLines.some((line) => (JSON.parse(line) as { msg?: string }).msg === 'request completed'), 'JSON request lines at info by default');
  assert.doesNotMatch(collector.output(), /cli-api-token-5e1|cli-ingest-token-77b/);
});
