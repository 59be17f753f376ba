/**
 * The collector's command line: read the configuration, check that it can listen there, open the store,
 * build the server, listen.
 * On SIGTERM or SIGINT it stops accepting connections, lets the requests in flight finish (their
 * spans committed), lets the forward queue drain for a bounded time, closes the store and exits 0.
 */
import { resolve } from 'node:path';
import { USAGE, readConfig } from './config.ts';
import { cannotListen, tryListen } from './ops/listen-check.ts';
import { CollectorMetrics } from './ops/metrics.ts';
import { buildServer } from './server.ts';
import { openPgliteStore } from './store/pglite-store.ts';
import { RetentionSweeper } from './store/retention.ts';
import { describeDatabaseUrl, openPostgresStore } from './store/postgres-store.ts';

const result = readConfig(process.argv.slice(2), process.env);
if (result.kind === 'help') {
  console.log(USAGE);
  process.exit(0);
}
if (result.kind === 'error') {
  console.error(`${result.message}\n\n${USAGE}`);
  process.exit(2);
}
const { config } = result;
const dataDir = resolve(config.dataDir);
const where = config.databaseUrl === undefined ? dataDir : describeDatabaseUrl(config.databaseUrl);
const metrics = new CollectorMetrics();

const unbindable = await tryListen(config.host, config.port);
if (unbindable !== null) {
  console.error(cannotListen(unbindable, config.host, config.port));
  process.exit(1);
}

let store;
try {
  const options = { maxQueuedItems: config.maxQueuedSpans, maxItemsPerCommit: config.maxSpansPerCommit, metrics, assembleFlows: config.flows };
  store = config.databaseUrl === undefined
    ? await openPgliteStore({ ...options, dataDir })
    : await openPostgresStore({ ...options, databaseUrl: config.databaseUrl });
} catch (error) {
  console.error(`cannot open the span store in ${where}: ${(error as Error).message}`);
  process.exit(1);
}

const app = buildServer({
  store,
  metrics,
  maxBodyBytes: config.maxBodyBytes,
  maxSpansPerRequest: config.maxSpansPerRequest,
  requestTimeoutMs: config.requestTimeoutMs,
  headersTimeoutMs: config.headersTimeoutMs,
  commitTimeoutMs: config.commitTimeoutMs,
  logLevel: config.logLevel,
  ingestTokens: config.ingestTokens,
  apiTokens: config.apiTokens,
  forward: config.forwardUrl === undefined ? undefined : { url: config.forwardUrl, headers: config.forwardHeaders, requestTimeoutMs: config.forwardTimeoutMs },
  businessKeyAttributes: config.businessKeyAttributes,
  flows: {
    orphanAfterMs: config.orphanAfterMs,
    maxFlowSpans: config.maxFlowSpans,
    exportDelayMs: config.exportDelayMs,
    settleAfterMs: config.settleAfterMs,
    model: { terminals: config.declared.terminals, minSamples: config.tuning.minSamples, sendEvidenceMinSamples: config.tuning.sendEvidenceMinSamples },
    partitions: { sequentialMinSamples: config.tuning.inOrderMinSamples },
    stalls: {
      defaultDeadlineMs: config.defaultDeadlineMs, steps: config.declared.steps, lateFactor: config.tuning.lateFactor, stallFactor: config.tuning.stallFactor,
    },
    alerts: {
      resolveAfterMs: config.alertResolveAfterMs, minFlows: config.tuning.alertMinFlows, failedWindowMs: config.tuning.failedWindowMs,
      maxStuckMs: config.tuning.maxStuckMs, anomalyWindowMs: config.tuning.anomalyWindowMs,
    },
    drift: { quietAfterMs: config.tuning.consumerGoneAfterMs, minProduced: config.tuning.consumerGoneMinEvents, retiredAfterMs: config.tuning.consumerRetiredAfterMs },
  },
  alerting: { receivers: config.alertReceivers, publicUrl: config.publicUrl ?? null },
});
const retention = config.retentionHours === 0 ? undefined : new RetentionSweeper(store, {
  retentionMs: config.retentionHours * 3_600_000,
  onSweep: (outcome) => {
    metrics.retentionSwept(outcome);
    if ('error' in outcome) app.log.warn({ err: outcome.error }, 'retention sweep failed; retrying at the next interval');
    else if (outcome.deleted > 0 || outcome.flowsDeleted > 0) {
      app.log.info({ deleted: outcome.deleted, flowsDeleted: outcome.flowsDeleted }, 'retention deleted old spans and flows');
    }
  },
});
let address: string;
try {
  address = await app.listen({ host: config.host, port: config.port });
} catch (error) {
  // the port was free a moment ago: another process took it meanwhile
  console.error(cannotListen(error as Error, config.host, config.port));
  await app.close();
  await store.close();
  process.exit(1);
}
retention?.start();
void retention?.sweep(); // at start too: a collector restarted after a long pause catches up at once
console.log(`choreoscope collector listening on ${address} (data in ${where})`);
console.log(`  dashboard: ${address}/ · spans: POST ${address}/v1/traces · flows: ${address}/api/flows · alerts: ${address}/api/alerts · the API described: ${address}/api/openapi.json`);
if (config.alertReceivers.length > 0) console.log(`  alert notifications go to ${config.alertReceivers.map((r) => r.kind).join(', ')}`);

/** How long requests in flight get to finish after SIGTERM/SIGINT before their connections are cut. */
const SHUTDOWN_GRACE_MS = 10_000;
let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    // a client that never finishes its upload must not hold the shutdown forever
    setTimeout(() => app.server.closeAllConnections(), SHUTDOWN_GRACE_MS).unref();
    void (async () => {
      await retention?.stop();
      await app.close();
      await store.close();
      console.log('choreoscope collector stopped');
      process.exit(0);
    })().catch((error: unknown) => {
      console.error(`shutdown failed: ${(error as Error).message}`);
      process.exit(1);
    });
  });
}
