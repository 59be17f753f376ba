// The dashboard: laying the choreography map out from API data (the pure view model), beside dagre alone
// on the same graph in the same run; then the map in Chromium against a collector in a process of its
// own fed an order choreography: frames per second and the longest frame while events move along the
// edges, beside the same page with no traffic, in the same run; and how soon a service never seen before
// appears on the open map.
//
// Last, render times in Chromium against a stand-in API (dashboard-render.ts): the flow view for flows of
// 50, 500 and 2,000 spans and the map for 20, 100 and 300 nodes, each beside the same data drawn as a plain
// HTML table, and the map's frames per second at 300 nodes under live traffic.
//
//   npm run bench:dashboard -- [--orders-per-second 10] [--seconds 10] [--only layout,browser,render]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { graphlib, layout } from '@dagrejs/dagre';
import type { ModelResponse } from '../collector/src/api/types.ts';
import { choreographyMap } from '../dashboard/src/model/map-model.ts';
import { launchChromium } from '../dashboard/test/browser.ts';
import { PLAIN_NAMES, exportBody, orderSpans, type Ending } from '../dashboard/test/order-spans.ts';
import { renderBenchmark } from './dashboard-render.ts';
import { startServerProcess } from './server-process.ts';
import { syntheticChoreography } from './synthetic-choreography.ts';

const { values } = parseArgs({
  options: {
    'orders-per-second': { type: 'string', default: '10' },
    seconds: { type: 'string', default: '10' },
    only: { type: 'string', default: 'layout,browser,render' },
  },
});
const parts = new Set(values.only.split(','));
const ordersPerSecond = Number(values['orders-per-second']);
const seconds = Number(values.seconds);

// ---- layout --------------------------------------------------------------------------------------

function timed(runs: number, work: () => void): number {
  work(); // warm
  const started = performance.now();
  for (let i = 0; i < runs; i += 1) work();
  return (performance.now() - started) / runs;
}

if (parts.has('layout')) {
  console.log('layout: the map from the API\'s model and catalogue (model/map-model.ts), beside dagre alone laying out the same graph');
  for (const [name, chains, length, runs] of [['the demo\'s size', 1, 8, 200], ['20 chains of 8 events', 20, 8, 10], ['60 chains of 8 events', 60, 8, 3]] as const) {
    const input = { ...syntheticChoreography(chains, length), stuckAfter: new Map<string, number>() };
    const map = choreographyMap(input);
    const ours = timed(runs, () => choreographyMap(input));
    const dagreAlone = timed(runs, () => {
      const graph = new graphlib.Graph();
      graph.setGraph({ rankdir: 'LR', nodesep: 30, ranksep: 118 });
      graph.setDefaultEdgeLabel(() => ({}));
      for (const node of map.nodes) graph.setNode(node.id, { width: node.width, height: node.height });
      for (const edge of map.edges) graph.setEdge(edge.from, edge.to);
      layout(graph);
    });
    console.log(`  ${name}: ${map.nodes.length} nodes, ${map.edges.length} edges: ${ours.toFixed(2)} ms a layout (baseline, dagre alone: ${dagreAlone.toFixed(2)} ms; ratio ${(ours / dagreAlone).toFixed(2)})`);
  }
}

// ---- the map in Chromium -------------------------------------------------------------------------

if (parts.has('browser')) {
  const dataDir = mkdtempSync(join(tmpdir(), 'choreoscope-bench-dashboard-'));
  const collector = await startServerProcess([fileURLToPath(new URL('../collector/bin/choreoscope.mjs', import.meta.url)), '--port', '0', '--data-dir', dataDir, '--settle-after-ms', '1000',
    '--export-delay-ms', '0', '--log-level', 'warn'], 'collector');
  const browser = await launchChromium();
  let orders = 0;
  const post = async (ending: Ending, startMs: number, names = PLAIN_NAMES) => {
    orders += 1;
    const response = await fetch(`${collector.url}/v1/traces`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: exportBody(orderSpans(`bench-${orders}`, startMs, ending, names), 'bench:'),
    });
    if (response.status !== 200) throw new Error(`ingest answered ${response.status}`);
  };
  try {
    const now = Date.now();
    process.stdout.write('browser: seeding 44 orders and waiting for the model to learn them… ');
    for (let i = 0; i < 24; i += 1) await post('shipped', now - 240_000 + i * 5_000);
    for (let i = 0; i < 20; i += 1) await post('cancelled', now - 230_000 + i * 5_000);
    for (;;) {
      const model = await (await fetch(`${collector.url}/api/model`)).json() as ModelResponse;
      if (model.steps.some((step) => step.terminal === 'compensated')) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    console.log('done');
    const page = await browser.newPage({ viewport: { width: 1400, height: 820 } });
    await page.goto(`${collector.url}/#/map`);
    await page.waitForSelector('[data-node="event:OrderCreated"]');
    await page.waitForTimeout(1_500);

    /**
     * Frames the page painted in `ms`, the longest gap between two, and the dots started meanwhile. Given
     * as text: the runner's transform would name the functions inside with a helper the page lacks.
     */
    const measure = (ms: number) => page.evaluate(`new Promise((resolve) => {
      let frames = 0, longestMs = 0, dots = 0;
      const observer = new MutationObserver((changes) => { for (const change of changes) dots += change.addedNodes.length; });
      observer.observe(document.querySelector('g.dots'), { childList: true });
      const started = performance.now();
      let last = started;
      const tick = (at) => {
        frames += 1;
        longestMs = Math.max(longestMs, at - last);
        last = at;
        if (at - started < ${ms}) requestAnimationFrame(tick);
        else { observer.disconnect(); resolve({ frames, longestMs, dots }); }
      };
      requestAnimationFrame(tick);
    })`) as Promise<{ frames: number; longestMs: number; dots: number }>;

    const idle = await measure(seconds * 1_000);
    let sending = true;
    const traffic = (async () => {
      const started = Date.now();
      for (let i = 0; sending; i += 1) {
        const due = started + (i * 1_000) / ordersPerSecond;
        if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
        await post(i % 10 === 9 ? 'cancelled' : 'shipped', Date.now() - 250);
      }
    })();
    const busy = await measure(seconds * 1_000);
    sending = false;
    await traffic;
    const fps = (m: { frames: number }) => (m.frames / seconds).toFixed(1);
    console.log(`  the map with ${ordersPerSecond} orders a second (${ordersPerSecond * 11} spans a second): ${fps(busy)} frames a second, the longest frame ${busy.longestMs.toFixed(0)} ms, ${busy.dots} dots moved`);
    console.log(`  baseline, the same page with no traffic: ${fps(idle)} frames a second, the longest frame ${idle.longestMs.toFixed(0)} ms, ${idle.dots} dots`);

    const newServiceAt = Date.now();
    await post('shipped', Date.now() - 250, { ...PLAIN_NAMES, notification: 'loyalty' });
    await page.waitForSelector('[data-node="service:loyalty|loyalty"]', { timeout: 30_000 });
    console.log(`  a service never seen before appears on the open map ${Date.now() - newServiceAt} ms after its spans are acknowledged (the flow worker's round, NOTIFY, the page reading the API again)`);
  } finally {
    await browser.close();
    await collector.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (parts.has('render')) await renderBenchmark(seconds);
