/**
 * A 200 means committed: the collector is killed with SIGKILL in the middle of concurrent exports,
 * restarted on the same store (PGlite's data directory, or the PostgreSQL database), and every span of
 * every acknowledged export is there; also when it is killed again and again under a steady load, where
 * re-posting an acknowledged export then stores nothing twice.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TraceResponse } from '../src/api/types.ts';
import { jsonRequest, jsonSpan, postTraces, send, spawnCollector, traceId, waitFor, type CollectorProcess } from './helpers.ts';
import { scrapeMetrics } from './scrape-metrics.ts';
import { cliStores } from './stores.ts';

const EXPORTS = 400;
const SPANS_PER_EXPORT = 3;
const CONCURRENCY = 16;
const KILL_AFTER_ACKS = 150;
const KILL_CYCLES = 4;
/** Acknowledged exports each life of the collector must see before it is killed. */
const ACKS_PER_CYCLE = 40;


for (const location of cliStores) {
  describe(`on ${location.name}`, () => {
    test('every span acknowledged before a SIGKILL is found after a restart on the same store', async (t) => {
      const { args, dispose } = await location.open();
      try {
        const first = await spawnCollector(args);
        const acknowledged: string[] = [];
        const failed: string[] = [];
        let next = 0;
        let killed = false;

        async function worker(): Promise<void> {
          while (next < EXPORTS) {
            next += 1;
            const trace = traceId();
            try {
              const answer = await postTraces(first.url, recentExport(trace));
              if (answer.status === 200) acknowledged.push(trace);
              else failed.push(`${answer.status}`);
            } catch (error) {
              failed.push((error as Error).message); // the connection died with the process: not acknowledged
              if (killed) return;
            }
            if (!killed && acknowledged.length >= KILL_AFTER_ACKS) {
              killed = true;
              first.child.kill('SIGKILL');
            }
          }
        }
        await Promise.all(Array.from({ length: CONCURRENCY }, worker));
        assert.equal(await first.exited, 'SIGKILL');
        assert.ok(killed, `the collector was killed mid-load (acknowledged ${acknowledged.length})`);
        assert.ok(failed.length > 0, 'some exports were cut off by the kill');
        t.diagnostic(`${acknowledged.length} exports acknowledged before the kill, ${failed.length} cut off`);

        const second = await spawnCollector(args);
        try {
          const lost = await missingTraces(second.url, acknowledged);
          assert.deepEqual(lost, [], `${lost.length} of ${acknowledged.length} acknowledged exports lost`);
          // and the restarted collector takes new exports
          assert.equal((await postTraces(second.url, JSON.stringify(jsonRequest([jsonSpan()])))).status, 200);
        } finally {
          second.child.kill('SIGTERM');
          assert.equal(await second.exited, 0, second.output());
        }
      } finally {
        await dispose();
      }
    });

    test(`every span acknowledged across ${KILL_CYCLES} SIGKILLs under a steady load is found once, and a re-post stores nothing`, async (t) => {
      const { args, dispose } = await location.open();
      let collector: CollectorProcess | undefined = await spawnCollector(args);
      const acknowledged = new Map<string, string>(); // trace id → the body the collector answered 200
      let cutOff = 0;
      let stopping = false;

      // exporters that keep sending across the kills, as an SDK would, each recording what got a 200
      async function exporter(): Promise<void> {
        while (!stopping) {
          const target = collector;
          if (target === undefined) {
            await sleep(10);
            continue;
          }
          const trace = traceId();
          const body = recentExport(trace);
          try {
            const answer = await postTraces(target.url, body);
            if (answer.status === 200) acknowledged.set(trace, body);
            else cutOff += 1;
          } catch {
            cutOff += 1; // the connection died with the process: not acknowledged
            await sleep(10);
          }
        }
      }
      const exporters = Array.from({ length: CONCURRENCY }, exporter);
      try {
        for (let cycle = 1; cycle <= KILL_CYCLES; cycle++) {
          const target: CollectorProcess = collector!;
          const before = acknowledged.size;
          await waitFor(() => acknowledged.size >= before + ACKS_PER_CYCLE, 15_000, `${ACKS_PER_CYCLE} acknowledged exports in life ${cycle}`);
          target.child.kill('SIGKILL');
          collector = undefined;
          assert.equal(await target.exited, 'SIGKILL');
          collector = await spawnCollector(args);
        }
        stopping = true;
        await Promise.all(exporters);
        assert.ok(cutOff > 0, 'some exports were cut off by the kills');
        t.diagnostic(`${acknowledged.size} exports acknowledged over ${KILL_CYCLES + 1} lives, ${cutOff} cut off`);

        const final: CollectorProcess = collector;
        const lost = await missingTraces(final.url, [...acknowledged.keys()]);
        assert.deepEqual(lost, [], `${lost.length} of ${acknowledged.size} acknowledged exports lost or stored twice`);

        // a sender retrying an export that was acknowledged before a kill changes nothing
        const retried = [...acknowledged].slice(0, 50);
        const before = await scrapeMetrics(final.url);
        for (const [, body] of retried) assert.equal((await postTraces(final.url, body)).status, 200);
        const after = await scrapeMetrics(final.url);
        assert.equal(after.get('choreoscope_spans_stored_total'), before.get('choreoscope_spans_stored_total'));
        assert.equal(after.get('choreoscope_spans_duplicate_total')! - before.get('choreoscope_spans_duplicate_total')!, retried.length * SPANS_PER_EXPORT);
        assert.deepEqual(await missingTraces(final.url, retried.map(([trace]) => trace)), []);
      } finally {
        stopping = true;
        await Promise.allSettled(exporters);
        const last = collector;
        if (last !== undefined) {
          last.child.kill('SIGTERM');
          assert.equal(await last.exited, 0, last.output());
        }
        await dispose();
      }
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An export of SPANS_PER_EXPORT spans of one trace, timed now (so no retention sweep takes them for old spans). */
function recentExport(trace: string): string {
  const start = BigInt(Date.now()) * 1_000_000n;
  const times = { startTimeUnixNano: String(start), endTimeUnixNano: String(start + 5_000_000n) };
  return JSON.stringify(jsonRequest(Array.from({ length: SPANS_PER_EXPORT }, () => jsonSpan({ traceId: trace, ...times }))));
}

/** The traces of `traces` not stored with exactly SPANS_PER_EXPORT spans: lost, in part or whole (or stored twice). */
async function missingTraces(base: string, traces: readonly string[]): Promise<string[]> {
  const missing: string[] = [];
  for (let i = 0; i < traces.length; i += CONCURRENCY) {
    await Promise.all(traces.slice(i, i + CONCURRENCY).map(async (trace) => {
      const answer = await send(`${base}/api/traces/${trace}`, {});
      if (answer.status !== 200 || (answer.json as TraceResponse).spans.length !== SPANS_PER_EXPORT) missing.push(trace);
    }));
  }
  return missing;
}
