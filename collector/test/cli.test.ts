import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { freePort } from '../../scripts/free-port.mjs';
import { readConfig } from '../src/config.ts';
import { openPostgresStore } from '../src/store/postgres-store.ts';
import { freshDataDir, jsonRequest, jsonSpan, postTraces, removeDir, send, spawnCollector } from './helpers.ts';
import { dropDatabase, freshDatabase } from './stores.ts';

test('configuration: defaults, environment variables, and flags that win over them', () => {
  assert.deepEqual(readConfig([], {}), {
    kind: 'config',
    config: {
      host: '127.0.0.1', port: 4318, dataDir: '.data/collector', databaseUrl: undefined,
      maxBodyBytes: undefined, maxSpansPerRequest: undefined, requestTimeoutMs: undefined, headersTimeoutMs: undefined,
      maxQueuedSpans: undefined, maxSpansPerCommit: undefined, commitTimeoutMs: undefined, retentionHours: 168, logLevel: 'info',
      ingestTokens: [], apiTokens: [], forwardUrl: undefined, forwardHeaders: {}, forwardTimeoutMs: undefined,
      businessKeyAttributes: undefined, flows: true, orphanAfterMs: undefined, maxFlowSpans: undefined,
      alertReceivers: [], publicUrl: undefined, exportDelayMs: undefined, defaultDeadlineMs: undefined, settleAfterMs: undefined, alertResolveAfterMs: undefined,
      declared: { terminals: {}, steps: [] }, tuning: { lateFactor: undefined, stallFactor: undefined, minSamples: undefined, sendEvidenceMinSamples: undefined, inOrderMinSamples: undefined, alertMinFlows: undefined, failedWindowMs: undefined, maxStuckMs: undefined, anomalyWindowMs: undefined, consumerGoneAfterMs: undefined, consumerGoneMinEvents: undefined, consumerRetiredAfterMs: undefined },
    },
  });
  const env = { CHOREOSCOPE_PORT: '9000', CHOREOSCOPE_DATA_DIR: '/var/lib/c', CHOREOSCOPE_MAX_BODY_BYTES: '1024', CHOREOSCOPE_LOG_LEVEL: 'warn', CHOREOSCOPE_REQUEST_TIMEOUT_MS: '5000', CHOREOSCOPE_COMMIT_TIMEOUT_MS: '2500' };
  const result = readConfig(['--port', '0', '--max-queued-spans', '50', '--request-timeout-ms', '2000', '--headers-timeout-ms', '500', '--max-spans-per-request', '10'], env);
  assert.equal(result.kind, 'config');
  assert.deepEqual(result.kind === 'config' && result.config, {
    host: '127.0.0.1', port: 0, dataDir: '/var/lib/c', databaseUrl: undefined, maxBodyBytes: 1024,
    maxSpansPerRequest: 10, requestTimeoutMs: 2000, headersTimeoutMs: 500, maxQueuedSpans: 50, maxSpansPerCommit: undefined, commitTimeoutMs: 2500, retentionHours: 168, logLevel: 'warn',
    ingestTokens: [], apiTokens: [], forwardUrl: undefined, forwardHeaders: {}, forwardTimeoutMs: undefined,
    businessKeyAttributes: undefined, flows: true, orphanAfterMs: undefined, maxFlowSpans: undefined,
    alertReceivers: [], publicUrl: undefined, exportDelayMs: undefined, defaultDeadlineMs: undefined, settleAfterMs: undefined, alertResolveAfterMs: undefined,
      declared: { terminals: {}, steps: [] }, tuning: { lateFactor: undefined, stallFactor: undefined, minSamples: undefined, sendEvidenceMinSamples: undefined, inOrderMinSamples: undefined, alertMinFlows: undefined, failedWindowMs: undefined, maxStuckMs: undefined, anomalyWindowMs: undefined, consumerGoneAfterMs: undefined, consumerGoneMinEvents: undefined, consumerRetiredAfterMs: undefined },
  });
  assert.deepEqual(readConfig(['--help'], {}), { kind: 'help' });
  const flows = readConfig(['--business-key-attributes', 'order.id, messaging.kafka.message.key', '--orphan-after-ms', '60000'],
    { CHOREOSCOPE_FLOWS: 'off', CHOREOSCOPE_MAX_FLOW_SPANS: '500' });
  assert.deepEqual(flows.kind === 'config' && [flows.config.businessKeyAttributes, flows.config.flows, flows.config.orphanAfterMs, flows.config.maxFlowSpans],
    [['order.id', 'messaging.kafka.message.key'], false, 60_000, 500]);

  // alert receivers: each flag repeatable, or several in its variable separated by spaces
  const alerting = readConfig(['--alert-webhook', 'https://hooks.example/a', '--alert-webhook', 'http://127.0.0.1:9000/b', '--alertmanager-url', 'http://am:9093/',
    '--public-url', 'https://choreoscope.example', '--default-deadline-ms', '5000', '--export-delay-ms', '0', '--alert-resolve-after-ms', '1000', '--settle-after-ms', '2000'],
  { CHOREOSCOPE_SLACK_WEBHOOK: 'https://hooks.slack.com/services/T/B/x  https://hooks.slack.com/services/T/B/y', CHOREOSCOPE_ALERT_WEBHOOK: 'https://ignored.example' });
  assert.deepEqual(alerting.kind === 'config' && alerting.config.alertReceivers, [
    { kind: 'webhook', url: 'https://hooks.example/a' }, { kind: 'webhook', url: 'http://127.0.0.1:9000/b' },
    { kind: 'alertmanager', url: 'http://am:9093/api/v2/alerts' },
    { kind: 'slack', url: 'https://hooks.slack.com/services/T/B/x' }, { kind: 'slack', url: 'https://hooks.slack.com/services/T/B/y' },
  ], 'flags win over the variable; Alertmanager\'s alerts endpoint is found from its address');
  assert.deepEqual(alerting.kind === 'config' && [alerting.config.publicUrl, alerting.config.defaultDeadlineMs, alerting.config.exportDelayMs, alerting.config.alertResolveAfterMs, alerting.config.settleAfterMs],
    ['https://choreoscope.example', 5_000, 0, 1_000, 2_000]);
});

test('configuration: a bad value or an unknown flag is an error naming the flag and its variable', () => {
  const bad = (argv: string[], env: Record<string, string> = {}) => {
    const result = readConfig(argv, env);
    assert.equal(result.kind, 'error');
    return result.kind === 'error' ? result.message : '';
  };
  assert.match(bad(['--port', 'ninety']), /--port \(CHOREOSCOPE_PORT\) must be an integer from 0 to 65535, not ninety/);
  assert.match(bad(['--flows', 'maybe']), /--flows \(CHOREOSCOPE_FLOWS\) must be on or off, not maybe/);
  assert.match(bad(['--business-key-attributes', 'order.id,,x']), /--business-key-attributes \(CHOREOSCOPE_BUSINESS_KEY_ATTRIBUTES\) must be attribute names/);
  assert.match(bad([], { CHOREOSCOPE_PORT: '70000' }), /not 70000/);
  assert.match(bad(['--max-body-bytes', '0']), /--max-body-bytes .* from 1/);
  assert.match(bad([], { CHOREOSCOPE_REQUEST_TIMEOUT_MS: '30s' }), /--request-timeout-ms \(CHOREOSCOPE_REQUEST_TIMEOUT_MS\) must be an integer/);
  assert.match(bad(['--commit-timeout-ms', '0']), /--commit-timeout-ms \(CHOREOSCOPE_COMMIT_TIMEOUT_MS\) must be an integer from 1/);
  assert.match(bad(['--log-level', 'loud']), /--log-level must be one of/);
  assert.match(bad(['--colour']), /Unknown option '--colour'/);
  assert.match(bad([], { CHOREOSCOPE_DATABASE_URL: 'mysql://db/spans' }), /--database-url \(CHOREOSCOPE_DATABASE_URL\) must be a postgres:\/\//);
  assert.match(bad(['--alert-webhook', 'hooks.example/a']), /--alert-webhook \(CHOREOSCOPE_ALERT_WEBHOOK\) must be an http:\/\/ or https:\/\/ URL, not hooks.example\/a/);
  assert.match(bad([], { CHOREOSCOPE_ALERTMANAGER_URL: 'ftp://am' }), /--alertmanager-url \(CHOREOSCOPE_ALERTMANAGER_URL\) must be an http/);
  assert.match(bad(['--default-deadline-ms', '0']), /--default-deadline-ms \(CHOREOSCOPE_DEFAULT_DEADLINE_MS\) must be an integer from 1/);
});

test('configuration: a database URL, from the flag or the environment, selects PostgreSQL', () => {
  const url = 'postgres://collector@db.internal:5432/choreoscope';
  for (const result of [readConfig(['--database-url', url], {}), readConfig([], { CHOREOSCOPE_DATABASE_URL: url })]) {
    assert.equal(result.kind === 'config' && result.config.databaseUrl, url);
  }
});

test('the CLI refuses a bad port with the usage text and exit code 2', async () => {
  await assert.rejects(spawnCollector(['--port', 'ninety']), (error: Error) => {
    assert.match(error.message, /exited \(2\)/);
    assert.match(error.message, /must be an integer from 0 to 65535, not ninety/);
    assert.match(error.message, /Usage: choreoscope/);
    return true;
  });
});

test('on SIGTERM the CLI finishes the export in flight, commits it, closes the store and exits 0', async () => {
  const dataDir = await freshDataDir();
  try {
    const first = await spawnCollector(['--data-dir', dataDir]);
    assert.match(first.output(), new RegExp(`listening on http://127\\.0\\.0\\.1:\\d+ \\(data in ${dataDir}\\)`));
    assert.equal((await send(`${first.url}/healthz`, {})).json.status, 'ok');

    // an export whose body arrives in two halves, with the SIGTERM between them
    const span = jsonSpan();
    const body = Buffer.from(JSON.stringify(jsonRequest([span])));
    let push!: (chunk: Uint8Array | null) => void;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        push = (chunk) => (chunk === null ? controller.close() : controller.enqueue(chunk));
      },
    });
    const pending = send(`${first.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream, duplex: 'half' } as RequestInit);
    push(body.subarray(0, 40));
    await new Promise((resolve) => setTimeout(resolve, 300)); // the server has the headers and is reading
    first.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 300));
    push(body.subarray(40));
    push(null);

    const answer = await pending;
    assert.equal(answer.status, 200, answer.text);
    assert.equal(await first.exited, 0, first.output());
    assert.match(first.output(), /stopped/);

    const second = await spawnCollector(['--data-dir', dataDir]);
    try {
      const trace = await send(`${second.url}/api/traces/${span.traceId}`, {});
      assert.equal(trace.status, 200);
      assert.equal(trace.json.spans[0].spanId, span.spanId);
    } finally {
      second.child.kill('SIGINT');
      assert.equal(await second.exited, 0);
    }
  } finally {
    removeDir(join(dataDir, '..'));
  }
});

test('the CLI says why when it cannot open the store, and exits 1', async () => {
  const dataDir = await freshDataDir();
  try {
    const notADirectory = join(dataDir, 'PG_VERSION'); // a file
    await assert.rejects(spawnCollector(['--data-dir', notADirectory]), /exited \(1\)[\s\S]*cannot open the span store/);
  } finally {
    removeDir(join(dataDir, '..'));
  }
});

test('a second CLI on a data directory in use exits 1 saying so in one line, before opening anything', async () => {
  const dataDir = await freshDataDir();
  try {
    const first = await spawnCollector(['--data-dir', dataDir]);
    try {
      const error = await spawnCollector(['--data-dir', dataDir]).then(() => null, (e: Error) => e);
      assert.ok(error, 'the second collector does not start');
      assert.match(error.message, new RegExp(`exited \\(1\\)[\\s\\S]*the data directory ${dataDir} is in use by another collector \\(pid ${first.child.pid} `));
      assert.equal(error.message.split('\n').filter((line) => line.trim() !== '').length, 2, `one line of its own: ${error.message}`);
      assert.equal((await send(`${first.url}/healthz`, {})).status, 200, 'the first goes on');
    } finally {
      first.child.kill('SIGTERM');
      assert.equal(await first.exited, 0);
    }
  } finally {
    removeDir(join(dataDir, '..'));
  }
});

test('with --database-url the CLI stores spans in PostgreSQL and names it without the password', async () => {
  const databaseUrl = await freshDatabase();
  const withPassword = new URL(databaseUrl);
  withPassword.password = 'never-printed'; // the test cluster trusts loopback: any password passes
  try {
    const collector = await spawnCollector(['--database-url', withPassword.href]);
    assert.match(collector.output(), /\(data in postgres:\/\/postgres@127\.0\.0\.1:\d+\/choreoscope_test_\w+\)/);
    const span = jsonSpan();
    assert.equal((await postTraces(collector.url, JSON.stringify(jsonRequest([span])))).status, 200);
    collector.child.kill('SIGTERM');
    assert.equal(await collector.exited, 0, collector.output());
    assert.doesNotMatch(collector.output(), /never-printed/);

    const store = await openPostgresStore({ databaseUrl });
    try {
      assert.deepEqual((await store.spansOfTrace(span.traceId as string)).map((s) => s.spanId), [span.spanId]);
    } finally {
      await store.close();
    }
  } finally {
    await dropDatabase(databaseUrl);
  }
});

test('the CLI exits 1 naming the database when PostgreSQL does not answer at start', async () => {
  const nobody = `postgres://postgres@127.0.0.1:${await freePort()}/choreoscope`;
  await assert.rejects(spawnCollector(['--database-url', nobody]),
    /exited \(1\)[\s\S]*cannot open the span store in postgres:\/\/postgres@127\.0\.0\.1:\d+\/choreoscope: connect ECONNREFUSED/);
});
