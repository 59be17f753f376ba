// Collector ingest: OTLP/HTTP exports of 100 realistic spans, protobuf and JSON, into the collector with
// PGlite and with PostgreSQL, each collector a process of its own started from its CLI, so its CPU and
// memory are measured apart from the load generator (autocannon, fixed connections, fixed duration). The
// baseline, in the same run: a bare Fastify server answering the same requests 200 without decoding or
// storing them. Prints spans/s, spans/s per core, ack latency, peak RSS, bytes stored per span, non-200s.
// The pglite-forward variant also forwards every export (--forward-url) to a bare server of its own:
// what the durable forward queue costs ingest.
//
// The -noflows variants run the collector with --flows off: no flow assembly, what it costs ingest.
//
//   npm run bench:collector -- [--duration 10] [--warmup 2] [--connections 16] [--spans 100]
//     [--only baseline,pglite,pglite-noflows,pglite-forward,postgres,postgres-noflows] [--cpu-prof DIR]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import pg from 'pg';
import { startPostgresCluster } from '../scripts/postgres.mjs';
import { measure, ownCpu, type CpuReader } from './cpu-meter.ts';
import { CONTENT_TYPES, RenewableExport, messagingSpans, type OtlpEncoding } from './otlp-batch.ts';
import { peakRssBytes, processCpu, processTreeCpu } from './process-stats.ts';
import { startServerProcess } from './server-process.ts';
import { dirBytes, pgliteStoredSpans, postgresStoredSpans, type StoredSpans } from './store-size.ts';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '16' },
    spans: { type: 'string', default: '100' },
    only: { type: 'string', default: 'baseline,pglite,pglite-noflows,pglite-forward,postgres,postgres-noflows' },
    /** Writes a V8 CPU profile of every variant's server into this folder (one subfolder a variant). */
    'cpu-prof': { type: 'string' },
  },
});
const durationSeconds = Number(values.duration);
const warmupSeconds = Number(values.warmup);
const connections = Number(values.connections);
const targets = values.only.split(',') as Target[];

type Target = 'baseline' | 'pglite' | 'pglite-noflows' | 'pglite-forward' | 'postgres' | 'postgres-noflows';
const ENCODINGS: OtlpEncoding[] = ['protobuf', 'json'];
const LABELS: Record<Target, string> = {
  baseline: 'bare Fastify', pglite: 'PGlite', 'pglite-noflows': 'PGlite no flows', 'pglite-forward': 'PGlite+forward',
  postgres: 'PostgreSQL', 'postgres-noflows': 'PostgreSQL no flows',
};
/** The collector's default, given to the baseline and the collector alike. */
const MAX_BODY_BYTES = 20 * 1024 * 1024;
const COLLECTOR_CLI = fileURLToPath(new URL('../collector/bin/choreoscope.mjs', import.meta.url));
const BARE_SERVER = fileURLToPath(new URL('./bare-otlp-server.ts', import.meta.url));

interface VariantResult {
  name: string;
  target: Target;
  wallSeconds: number;
  acked: number;
  spansPerRequest: number;
  non200: Record<string, number>;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  cpuSeconds: { server: number; database?: number; loadGenerator: number };
  peakRssBytes: number;
  stored?: StoredSpans;
  diskGrowthBytes?: number;
  /** Exports the forward target accepted, and those still queued, when the measurement ended. */
  forwarded?: { sent: number; waiting: number };
  /** Spans stored and spans assembled into flows when the measurement ended: how far assembly was behind. */
  flows?: { stored: number; assembled: number };
}

const spans = messagingSpans(Number(values.spans));
const exports = Object.fromEntries(ENCODINGS.map((e) => [e, new RenewableExport(spans, e)])) as Record<OtlpEncoding, RenewableExport>;
const kib = (b: number) => `${(b / 1024).toFixed(0)} KiB`;
console.log(
  `collector ingest benchmark: exports of ${spans.length} spans (protobuf ${kib(exports.protobuf.body.length)}, JSON ${kib(exports.json.body.length)}), ` +
    `${connections} connections, ${warmupSeconds} s warm-up + ${durationSeconds} s per variant`,
);

// export ids count up across the whole run, so no two requests carry the same spans
let exportNumber = 1;

async function load(url: string, encoding: OtlpEncoding, seconds: number): Promise<autocannon.Result> {
  const renewable = exports[encoding];
  return autocannon({
    url: `${url}/v1/traces`,
    connections,
    duration: seconds,
    timeout: 30,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': CONTENT_TYPES[encoding] },
        // autocannon copies the body into the request it builds at once, so one buffer serves all
        setupRequest: (request) => ({ ...request, body: renewable.renew(exportNumber++) }),
      },
    ],
  });
}

async function runVariant(target: Target, encoding: OtlpEncoding, postgres: PostgresCluster | undefined): Promise<VariantResult> {
  const name = `${LABELS[target]} ${encoding}`;
  console.log(`  ${name}: starting`);
  const dataDir = target.startsWith('pglite') ? mkdtempSync(join(tmpdir(), 'choreoscope-bench-')) : undefined;
  const databaseUrl = target.startsWith('postgres') ? await postgres!.createDatabase(`bench_${target.replace('-', '_')}_${encoding}`) : undefined;
  const profile = values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', join(values['cpu-prof'], `${target}-${encoding}`)] : [];
  const args = [...profile,
    ...(target === 'baseline' ? ['--import', 'tsx', BARE_SERVER, '--port', '0', '--max-body-bytes', String(MAX_BODY_BYTES)]
    : [COLLECTOR_CLI, '--port', '0', '--log-level', 'warn', '--max-body-bytes', String(MAX_BODY_BYTES),
      ...(dataDir !== undefined ? ['--data-dir', dataDir] : ['--database-url', databaseUrl!]),
      ...(target.endsWith('-noflows') ? ['--flows', 'off'] : [])])];
  const sink = target === 'pglite-forward' ? await startServerProcess(['--import', 'tsx', BARE_SERVER, '--port', '0', '--max-body-bytes', String(MAX_BODY_BYTES)], 'forward sink') : undefined;
  if (sink) args.push('--forward-url', `${sink.url}/v1/traces`);
  const server = await startServerProcess(args, name);
  try {
    const diskBefore = dataDir !== undefined ? dirBytes(dataDir) : postgres?.diskBytes();
    await load(server.url, encoding, warmupSeconds);
    const readers: Record<string, CpuReader> = { server: processCpu(server.pid), loadGenerator: ownCpu };
    if (databaseUrl !== undefined) readers.database = postgres!.cpu;
    console.log(`  ${name}: measuring for ${durationSeconds} s`);
    const { result, wallSeconds, cpuSeconds } = await measure(readers, () => load(server.url, encoding, durationSeconds));
    const peakRss = peakRssBytes(server.pid);
    if (target !== 'baseline') await checkNoSpanRejected(server.url, name);
    const forwarded = sink ? await forwardCounts(server.url) : undefined;
    const flows = target === 'baseline' || target.endsWith('-noflows') ? undefined : await flowCounts(server.url);
    await server.stop();
    const stored = dataDir !== undefined ? await pgliteStoredSpans(dataDir) : databaseUrl !== undefined ? await postgresStoredSpans(databaseUrl) : undefined;
    const diskAfter = dataDir !== undefined ? dirBytes(dataDir) : postgres?.diskBytes();
    const statuses = Object.entries(result.statusCodeStats ?? {}).map(([code, { count }]) => [code, count ?? 0] as const);
    const non200 = Object.fromEntries(statuses.filter(([code]) => code !== '200'));
    return {
      name,
      target,
      wallSeconds,
      acked: statuses.find(([code]) => code === '200')?.[1] ?? 0,
      spansPerRequest: spans.length,
      non200,
      errors: result.errors + result.timeouts,
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      cpuSeconds: { server: cpuSeconds.server!, database: cpuSeconds.database, loadGenerator: cpuSeconds.loadGenerator! },
      peakRssBytes: peakRss,
      stored,
      diskGrowthBytes: diskBefore !== undefined && diskAfter !== undefined ? diskAfter - diskBefore : undefined,
      forwarded,
      flows,
    };
  } finally {
    await server.stop().catch(() => {}); // already stopped, unless the run failed
    await sink?.stop().catch(() => {});
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  }
}

/** A span rejected one by one (a 200 with partialSuccess) would mean the generated exports are wrong, not slow. */
async function checkNoSpanRejected(url: string, name: string): Promise<void> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const invalid = /^choreoscope_spans_rejected_total\{reason="invalid"\} (\d+)/m.exec(text);
  if (invalid && Number(invalid[1]) > 0) throw new Error(`${name}: the collector rejected ${invalid[1]} spans as invalid`);
}

async function forwardCounts(url: string): Promise<{ sent: number; waiting: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  return { sent: read('choreoscope_forward_batches_sent_total'), waiting: read('choreoscope_forward_queue_batches') };
}

async function flowCounts(url: string): Promise<{ stored: number; assembled: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  return { stored: read('choreoscope_spans_stored_total'), assembled: read('choreoscope_flow_spans_assembled_total') };
}

interface PostgresCluster {
  createDatabase(name: string): Promise<string>;
  /** CPU seconds of the postmaster and all its backends. */
  cpu: CpuReader;
  diskBytes(): number;
  remove(): void;
}

async function startPostgres(): Promise<PostgresCluster> {
  const cluster = await startPostgresCluster({ database: 'bench', log: (line: string) => console.log(`  ${line}`) });
  process.once('exit', () => cluster.remove()); // also when a variant fails
  const postmasterPid = Number(readFileSync(join(cluster.dir, 'data', 'postmaster.pid'), 'utf8').split('\n', 1)[0]);
  return {
    async createDatabase(name) {
      const client = new pg.Client(cluster.url);
      await client.connect();
      await client.query(`CREATE DATABASE ${name}`);
      await client.end();
      const url = new URL(cluster.url);
      url.pathname = `/${name}`;
      return url.href;
    },
    cpu: processTreeCpu(postmasterPid),
    diskBytes: () => dirBytes(join(cluster.dir, 'data')),
    remove: () => cluster.remove(),
  };
}

const postgres = targets.some((target) => target.startsWith('postgres')) ? await startPostgres() : undefined;
const results: VariantResult[] = [];
try {
  for (const target of targets) {
    for (const encoding of ENCODINGS) results.push(await runVariant(target, encoding, postgres));
  }
} finally {
  postgres?.remove();
}

const count = (n: number) => Math.round(n).toLocaleString('en');
const share = (seconds: number | undefined, wall: number) => (seconds === undefined ? '—' : `${((seconds / wall) * 100).toFixed(0)}%`);
const columns: [string, number, (r: VariantResult) => string][] = [
  ['variant', -20, (r) => r.name],
  ['spans/s', 9, (r) => count((r.acked * r.spansPerRequest) / r.wallSeconds)],
  ['req/s', 7, (r) => count(r.acked / r.wallSeconds)],
  ['server CPU', 10, (r) => share(r.cpuSeconds.server, r.wallSeconds)],
  ['spans/s/core', 12, (r) => count((r.acked * r.spansPerRequest) / r.cpuSeconds.server)],
  ['db CPU', 6, (r) => share(r.cpuSeconds.database, r.wallSeconds)],
  ['+db spans/s/core', 16, (r) => (r.cpuSeconds.database === undefined ? '—' : count((r.acked * r.spansPerRequest) / (r.cpuSeconds.server + r.cpuSeconds.database)))],
  ['p50 ms', 6, (r) => r.p50Ms.toFixed(0)],
  ['p99 ms', 6, (r) => r.p99Ms.toFixed(0)],
  ['peak RSS', 8, (r) => `${(r.peakRssBytes / 2 ** 20).toFixed(0)} MiB`],
  ['table B/span', 12, (r) => (r.stored ? (r.stored.tableBytes / r.stored.spans).toFixed(0) : '—')],
  ['disk B/span', 11, (r) => (r.stored && r.diskGrowthBytes !== undefined ? (r.diskGrowthBytes / r.stored.spans).toFixed(0) : '—')],
  ['non-200', 7, (r) => (Object.keys(r.non200).length === 0 ? '0' : Object.entries(r.non200).map(([code, n]) => `${n}×${code}`).join(' ')) + (r.errors > 0 ? ` +${r.errors} err` : '')],
  ['loadgen CPU', 11, (r) => share(r.cpuSeconds.loadGenerator, r.wallSeconds)],
  ['forwarded (queued)', 18, (r) => (r.forwarded ? `${count(r.forwarded.sent)} (${count(r.forwarded.waiting)})` : '—')],
  ['flows behind', 12, (r) => (r.flows ? `${count(r.flows.stored - r.flows.assembled)} spans` : '—')],
];
const cell = (text: string, width: number) => (width < 0 ? text.padEnd(-width) : text.padStart(width));
console.log(`\n${columns.map(([title, width]) => cell(title, width)).join('  ')}`);
for (const r of results) console.log(columns.map(([, width, value]) => cell(value(r), width)).join('  '));
const stored = results.filter((r) => r.stored).map((r) => `${r.name} ${count(r.stored!.spans)}`);
console.log(
  `\nnode ${process.version}; spans/s counts spans acknowledged (200) in the measured ${durationSeconds} s; spans/s/core divides them by the ` +
    `server process's CPU seconds (+db: and PostgreSQL's); latency is autocannon's, request sent to answer received.` +
    (stored.length > 0 ? `\nspans stored (warm-up included, B/span divides by these): ${stored.join(', ')}` : ''),
);
