/**
 * Flows survive what spans survive, and converge whoever assembles them. Every fixture's spans are
 * posted (shuffled, in small exports, several at once) to collectors started from the CLI:
 * - killed with SIGKILL halfway, then restarted on the same store (PGlite's data directory, or the
 *   PostgreSQL database), the exports not acknowledged sent again;
 * - two collectors on one PostgreSQL database, each sent an interleaved half, the one assembling killed
 *   halfway so the other takes over.
 * Either way the API answers exactly the flows (ids, members, hops) a single collector builds from the
 * same spans without interruption, each what its fixture expects, and the same event catalogue counts.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '@choreoscope/test-support';
import { FIXTURE_KEY_ATTRIBUTES, expectFixtureFlows, fixtureExports, type FlowInWords } from './fixture-flows-api.ts';
import { readFlowFixtures } from './flow-fixtures.ts';
import type { CatalogResponse } from '../src/api/types.ts';
import { postTraces, send, spawnCollector, startCollector, waitFor, type CollectorProcess } from './helpers.ts';
import { scrapeMetrics } from './scrape-metrics.ts';
import { cliStores, dropDatabase, freshDatabase, pgliteStores } from './stores.ts';

const fixtures = readFlowFixtures();
const NAMESPACE = 'durable:';
const CLI_ARGS = ['--business-key-attributes', FIXTURE_KEY_ATTRIBUTES.join(','), '--log-level', 'warn'];

/** Every fixture's exports, shuffled together. */
function allExports(): string[] {
  const bodies = fixtures.flatMap((fixture) => fixtureExports(fixture, `${NAMESPACE}${fixture.name}:`, 5));
  const random = seededRandom('flows-durability');
  return bodies.sort(() => random() - 0.5);
}

/** Every fixture's flows, and the event catalogue (which counts each span once, whatever was killed when). */
async function flowsOf(url: string): Promise<{ flows: Map<string, FlowInWords[]>; catalog: unknown }> {
  const flows = new Map<string, FlowInWords[]>();
  for (const fixture of fixtures) flows.set(fixture.name, await expectFixtureFlows(url, fixture, `${NAMESPACE}${fixture.name}:`));
  const catalog = ((await send(`${url}/api/catalog`, {})).json as CatalogResponse).events.map(({ ratePerSecond: _, ...counts }) => counts);
  return { flows, catalog };
}

/**
 * Posts the bodies, `concurrency` at a time, to the collector `target(index)` names; calls `after(acked)` after each
 * acknowledgement. Returns the indexes acknowledged (a connection cut by a kill is not).
 */
async function postAll(bodies: string[], target: (index: number) => string, concurrency: number, after: (acked: number) => void = () => {}): Promise<Set<number>> {
  const acknowledged = new Set<number>();
  let next = 0;
  const worker = async () => {
    while (next < bodies.length) {
      const index = next++;
      try {
        const answer = await postTraces(target(index), bodies[index]!);
        if (answer.status === 200) {
          acknowledged.add(index);
          after(acknowledged.size);
        }
      } catch {
        // the collector died with the request in flight: not acknowledged
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return acknowledged;
}

let reference: Awaited<ReturnType<typeof flowsOf>>;
before(async () => {
  // what one collector builds from the same spans, uninterrupted
  const collector = await startCollector(pgliteStores, { server: { businessKeyAttributes: FIXTURE_KEY_ATTRIBUTES } });
  try {
    for (const body of allExports()) assert.equal((await postTraces(collector.url, body)).status, 200);
    reference = await flowsOf(collector.url);
    assert.ok((reference.catalog as unknown[]).length >= 5, 'a catalogue to compare');
  } finally {
    await collector.close();
  }
});


for (const location of cliStores) {
  describe(`on ${location.name}`, () => {
    test('SIGKILL halfway through, restart on the same store: the same flows as without the kill', async () => {
      const { args, dispose } = await location.open();
      const bodies = allExports();
      try {
        const first = await spawnCollector([...args, ...CLI_ARGS]);
        let killed = false;
        const acknowledged = await postAll(bodies, () => first.url, 4, (acked) => {
          if (!killed && acked >= bodies.length / 2) {
            killed = true;
            first.child.kill('SIGKILL');
          }
        });
        assert.equal(await first.exited, 'SIGKILL');
        assert.ok(acknowledged.size < bodies.length, 'the kill cut some exports off');

        const second = await spawnCollector([...args, ...CLI_ARGS]);
        try {
          // what the kill cut off, the exporters send again
          const rest = bodies.filter((_, index) => !acknowledged.has(index));
          const resent = await postAll(rest, () => second.url, 4);
          assert.equal(resent.size, rest.length);
          assert.deepEqual(await flowsOf(second.url), reference);
        } finally {
          await stop(second);
        }
      } finally {
        await dispose();
      }
    });
  });
}

test('two collectors on one PostgreSQL database, each sent half, the assembling one killed: the same flows as one collector', async () => {
  const databaseUrl = await freshDatabase();
  const bodies = allExports();
  try {
    const collectors = [await spawnCollector(['--database-url', databaseUrl, ...CLI_ARGS])];
    collectors.push(await spawnCollector(['--database-url', databaseUrl, ...CLI_ARGS]));
    const assembling = async () => {
      const flags = await Promise.all(collectors.map(async (c) => (await scrapeMetrics(c.url)).get('choreoscope_flow_assembler') ?? 0));
      return flags.indexOf(1);
    };
    await waitFor(async () => (await assembling()) >= 0, 10_000, () => 'one of the two assembles');
    const assembler = await assembling();
    const survivor = collectors[1 - assembler]!;
    let killed = false;
    const acknowledged = await postAll(bodies, (index) => (killed ? survivor.url : collectors[index % 2]!.url), 4, (acked) => {
      if (!killed && acked >= bodies.length / 2) {
        killed = true;
        collectors[assembler]!.child.kill('SIGKILL');
      }
    });
    assert.equal(await collectors[assembler]!.exited, 'SIGKILL');
    try {
      const rest = bodies.filter((_, index) => !acknowledged.has(index));
      assert.equal((await postAll(rest, () => survivor.url, 4)).size, rest.length);
      // its connection gone, the killed collector's lock is gone: the survivor takes over assembly
      await waitFor(async () => (await scrapeMetrics(survivor.url)).get('choreoscope_flow_assembler') === 1, 15_000, () => 'the survivor assembles');
      assert.deepEqual(await flowsOf(survivor.url), reference);
    } finally {
      await stop(survivor);
    }
  } finally {
    await dropDatabase(databaseUrl);
  }
});

async function stop(collector: CollectorProcess): Promise<void> {
  collector.child.kill('SIGTERM');
  assert.equal(await collector.exited, 0, collector.output());
}
