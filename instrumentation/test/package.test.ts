// The package as a new user gets it: `npm pack` (which builds it), the tarball installed with its
// dependencies from the npm registry into a project of its own outside the workspace, and the README's
// service run there with plain node, then compiled by tsc as TypeScript, against the embedded broker
// and a stand-in collector on loopback. The README shows test/package/service.mjs verbatim.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, type KafkaMessage } from 'kafkajs';
import { startBroker, type RunningBroker } from '@choreoscope/embedded-kafka';
import { ATTR_BUSINESS_KEY, ATTR_EVENT_TYPE, HEADER_BUSINESS_KEY, HEADER_TRACEPARENT } from '../src/semconv.ts';
import { MAX_WAIT_TIME_MS, Teardown, kafkaConfig, waitFor } from './kafka-fixture.ts';
import { deadCollectorUrl, startReceiver, type Receiver } from './otlp-receiver.ts';

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
const SERVICE = fileURLToPath(new URL('package/service.mjs', import.meta.url));
/** What the README's service sends. */
const ORDER_ID = 'order-1234';

/**
 * The environment of every command run for the user's project: none of npm's variables (`npm test`
 * sets some that would point `npm install` back at the workspace), no loader in NODE_OPTIONS, no OTEL_*.
 */
const userEnv = Object.fromEntries(Object.entries(process.env)
  .filter(([name]) => !/^(npm_|otel_)/i.test(name) && name !== 'NODE_OPTIONS'));

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end; the exit code and output say how it went. */
async function run(command: string, args: string[], cwd: string): Promise<Finished> {
  const child = spawn(command, args, { cwd, env: userEnv });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

interface RunningService {
  stderr(): string;
  /** Sends SIGTERM, as a platform stopping the service does, and resolves with the exit code. */
  stop(): Promise<{ code: number | null; stopMs: number }>;
}

const teardown = new Teardown();
let project: string;
let broker: RunningBroker;
let receiver: Receiver;
/** Every message on `orders`, as a consumer downstream of the service sees it. */
const received: KafkaMessage[] = [];

function startService(file: string, env: Record<string, string>): RunningService {
  const child = spawn(process.execPath, [file], {
    cwd: project,
    env: { ...userEnv, KAFKA_BROKERS: broker.address, KAFKAJS_NO_PARTITIONER_WARNING: '1', ...env },
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  child.stdout.resume();
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  teardown.defer(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'));
  return {
    stderr: () => stderr,
    async stop() {
      const signalled = performance.now();
      child.kill('SIGTERM');
      const [code] = await exited;
      return { code, stopMs: performance.now() - signalled };
    },
  };
}

/** Runs `file` until it has sent its order, then stops it as a platform would. */
async function runUntilSent(file: string, env: Record<string, string>): Promise<{ code: number | null; stopMs: number; stderr: string; message: KafkaMessage }> {
  const before = received.length;
  const service = startService(file, env);
  await waitFor(() => received.length > before, 30_000, () => `the order on the topic; the service said: ${service.stderr()}`);
  const { code, stopMs } = await service.stop();
  return { code, stopMs, stderr: service.stderr(), message: received[before]! };
}

const exportFailureLines = (stderr: string) => stderr.split('\n').filter((line) => line.startsWith('choreoscope: cannot export spans'));

/** The service's send span arrived, carrying the order's key, and the message carries its trace. */
function assertSpansArrived(message: KafkaMessage): void {
  const send = receiver.spans().find((span) => span.name === 'send orders');
  assert.ok(send, `a send span arrived; got ${receiver.spans().map((span) => span.name).join(', ') || 'none'}`);
  assert.equal(send.attributes[ATTR_BUSINESS_KEY], ORDER_ID);
  assert.equal(send.attributes[ATTR_EVENT_TYPE], 'OrderCreated');
  assert.equal(String(message.headers?.[HEADER_TRACEPARENT]).split('-')[1], send.traceId, 'the message carries the span\'s trace');
}

before(async () => {
  const scratch = mkdtempSync(join(tmpdir(), 'choreoscope-package-test-'));
  teardown.defer(() => rmSync(scratch, { recursive: true, force: true }));
  project = join(scratch, 'order-service');
  mkdirSync(project);

  const packed = await run('npm', ['pack', '--json', '--pack-destination', scratch], PACKAGE_DIR);
  assert.equal(packed.code, 0, packed.stderr);
  const [{ filename, files }] = JSON.parse(packed.stdout) as [{ filename: string; files: { path: string }[] }];
  const shipped = files.map((file) => file.path);
  for (const path of ['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts', 'dist/setup.js', 'dist/setup.d.ts', 'dist/semconv.js', 'dist/semconv.d.ts']) {
    assert.ok(shipped.includes(path), `${path} is in the tarball`);
  }
  assert.ok(!shipped.some((path) => path.startsWith('test/')), 'no tests in the tarball');

  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'order-service', private: true, type: 'module' }));
  const installed = await run('npm', [
    'install', '--no-audit', '--no-fund', '--prefer-offline',
    join(scratch, filename), 'kafkajs@^2.2.4', '@opentelemetry/api@^1.9.0', 'typescript@~5.9.3', '@types/node@^20',
  ], project);
  assert.equal(installed.code, 0, installed.stderr);

  broker = await startBroker({ log: () => {} });
  teardown.defer(() => broker.stop());
  receiver = await startReceiver();
  teardown.defer(() => receiver.close());
  const consumer = await teardown.connect(new Kafka(kafkaConfig(broker.address, 'downstream')).consumer({ groupId: 'downstream', maxWaitTimeInMs: MAX_WAIT_TIME_MS }));
  await consumer.subscribe({ topics: ['orders'], fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void received.push(message) });
}, { timeout: 300_000 }); // npm install takes from 15 s to minutes, with the machine's load and the npm cache
after(() => teardown.run());

test('the READMEs show the service this file runs, verbatim', () => {
  for (const readme of [join(PACKAGE_DIR, 'README.md'), join(PACKAGE_DIR, '..', 'README.md')]) {
    const text = readFileSync(readme, 'utf8');
    assert.ok(text.includes(`\`\`\`js\n${readFileSync(SERVICE, 'utf8')}\`\`\``), `${readme} has test/package/service.mjs as a js block`);
    assert.ok(text.includes('npm install @choreoscope/instrumentation kafkajs @opentelemetry/api'), `${readme} has the install line`);
  }
});

test('in JavaScript, with plain node: the order goes through the broker, its spans reach the collector', async () => {
  copyFileSync(SERVICE, join(project, 'service.mjs'));
  receiver.requests.length = 0;
  const { code, stderr, message } = await runUntilSent('service.mjs', { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
  assert.equal(code, 0, stderr);
  assert.equal(String(message.key), ORDER_ID);
  assert.equal(String(message.headers?.[HEADER_BUSINESS_KEY]), ORDER_ID);
  assertSpansArrived(message);
  assert.deepEqual(exportFailureLines(stderr), []);
});

test('with the collector down, the service says so once and its shutdown handler exits 0', async () => {
  copyFileSync(SERVICE, join(project, 'service.mjs'));
  // The default 5 s between exports: the spans are still queued when the service is stopped. A 1 s
  // export timeout instead of the default 10 s: stopping must take about that, not longer.
  const env = { OTEL_EXPORTER_OTLP_ENDPOINT: await deadCollectorUrl(), OTEL_EXPORTER_OTLP_TIMEOUT: '1000' };
  const { code, stopMs, stderr } = await runUntilSent('service.mjs', env);
  assert.equal(code, 0, stderr);
  assert.ok(stopMs < 5_000, `stopped in ${Math.round(stopMs)} ms`);
  const lines = exportFailureLines(stderr);
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0]!, /the collector is unreachable \(ECONNREFUSED\)/);
});

test('in TypeScript: tsc (NodeNext, strict) compiles the service against the package\'s types, and it runs', async () => {
  // The README's service as written, as TypeScript: strict typing must accept it unchanged. skipLibCheck
  // stays off, so the package's own .d.ts files are checked too.
  copyFileSync(SERVICE, join(project, 'service.ts'));
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, outDir: 'dist', types: ['node'] },
    files: ['service.ts'],
  }));
  const compiled = await run(process.execPath, [join(project, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], project);
  assert.equal(compiled.code, 0, compiled.stdout + compiled.stderr);

  receiver.requests.length = 0;
  const { code, stderr, message } = await runUntilSent(join('dist', 'service.js'), { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
  assert.equal(code, 0, stderr);
  assertSpansArrived(message);
});
