/**
 * Shared helpers for the collector's tests: a real server (buildServer) on loopback port 0 over a real
 * store (PGlite or PostgreSQL, see stores.ts), and small builders of OTLP/JSON requests.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import type { FastifyInstance } from 'fastify';
import { buildServer, type ServerOptions } from '../src/server.ts';
import type { SqlSpanStore, SqlSpanStoreOptions } from '../src/store/sql-span-store.ts';
import type { StoreKind } from './stores.ts';

export { waitFor } from '@choreoscope/test-support';

export function makeTempDir(prefix = 'choreoscope-collector-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * A new PGlite data directory, copied from a freshly initialised one kept under the OS temp dir (one
 * per PGlite version): initdb costs seconds, a copy milliseconds. The copy has no tables yet; the
 * store's migrations run on it as on any new directory.
 */
export async function freshDataDir(): Promise<string> {
  const main = createRequire(import.meta.url).resolve('@electric-sql/pglite'); // <package>/dist/index.cjs
  const { version } = JSON.parse(readFileSync(join(dirname(main), '..', 'package.json'), 'utf8')) as { version: string };
  const template = join(tmpdir(), `choreoscope-pglite-template-${version}`);
  if (!existsSync(join(template, 'READY'))) {
    const building = makeTempDir('choreoscope-pglite-template-building-');
    const db = await PGlite.create({ dataDir: join(building, 'data') });
    await db.close();
    writeFileSync(join(building, 'READY'), '');
    try {
      renameSync(building, template);
    } catch {
      removeDir(building); // another test process made it first; theirs is as good
    }
  }
  const dir = join(makeTempDir(), 'data');
  cpSync(join(template, 'data'), dir, { recursive: true });
  return dir;
}

export interface RunningCollector {
  url: string;
  app: FastifyInstance;
  store: SqlSpanStore;
  /** The PostgreSQL store's database; undefined for PGlite. */
  databaseUrl?: string;
  /** Closes the server, then the store, then deletes the store's data. */
  close(): Promise<void>;
}

/** The server on loopback port 0 over a new store of the given kind. */
export async function startCollector(
  kind: StoreKind,
  options: { server?: Omit<ServerOptions, 'store'>; store?: SqlSpanStoreOptions } = {},
): Promise<RunningCollector> {
  const { store, dispose, databaseUrl } = await kind.open(options.store);
  const app = buildServer({ ...options.server, store });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url,
    app,
    store,
    databaseUrl,
    async close() {
      await app.close();
      await dispose();
    },
  };
}

export interface Answer {
  status: number;
  headers: Headers;
  body: Buffer;
  text: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  json: any;
}

export async function send(url: string, init: RequestInit): Promise<Answer> {
  const response = await fetch(url, init);
  const body = Buffer.from(await response.arrayBuffer());
  const text = body.toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, body, text, json };
}

export function postTraces(base: string, body: string | Uint8Array, headers: Record<string, string> = { 'content-type': 'application/json' }): Promise<Answer> {
  return send(`${base}/v1/traces`, { method: 'POST', body, headers });
}

export const traceId = (): string => randomBytes(16).toString('hex');
export const spanId = (): string => randomBytes(8).toString('hex');

/**
 * One span of an OTLP/JSON request, with valid defaults for whatever `fields` leaves out. It starts now,
 * so a collector's retention (7 days by default) never deletes it during a test.
 */
export function jsonSpan(fields: Record<string, unknown> = {}): Record<string, unknown> {
  const startNanos = BigInt(Date.now()) * 1_000_000n;
  return {
    traceId: traceId(),
    spanId: spanId(),
    name: 'process order',
    kind: 5,
    startTimeUnixNano: String(startNanos),
    endTimeUnixNano: String(startNanos + 250_000_000n),
    ...fields,
  };
}

/** An OTLP/JSON ExportTraceServiceRequest holding `spans` under one resource (service `service`). */
export function jsonRequest(spans: unknown[], service = 'orders'): Record<string, unknown> {
  return {
    resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
      scopeSpans: [{ scope: { name: 'test', version: '1.0.0' }, spans }],
    }],
  };
}

export interface CollectorProcess {
  child: ChildProcessWithoutNullStreams;
  url: string;
  /** Everything the process printed so far, stdout and stderr. */
  output(): string;
  /** Resolves with the exit code (or the signal's name) once the process has ended. */
  exited: Promise<number | string>;
}

const BIN = fileURLToPath(new URL('../bin/choreoscope.mjs', import.meta.url));

/** The collector's CLI (bin/choreoscope.mjs) as a child process on port 0, once it says where it listens. */
export async function spawnCollector(args: string[]): Promise<CollectorProcess> {
  const child = spawn(process.execPath, [BIN, '--port', '0', ...args]);
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (output += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (output += text));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const url = await Promise.race([
    new Promise<string>((resolve) => {
      const look = () => {
        const match = /listening on (http:\/\/\S+)/.exec(output);
        if (match) resolve(match[1]!);
        else child.stdout.once('data', look);
      };
      look();
    }),
    exited.then((code) => Promise.reject(new Error(`the collector exited (${code}) before listening:\n${output}`))),
  ]);
  return { child, url, output: () => output, exited };
}

/** The collector's CLI run with exactly `args` until it exits on its own: its exit code and what it printed where. */
export async function runCollectorToExit(args: string[]): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args]);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const code = await new Promise<number | string>((resolve) => child.once('close', (exitCode, signal) => resolve(exitCode ?? signal ?? -1)));
  return { code, stdout, stderr };
}
