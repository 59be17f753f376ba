// Render times of the dashboard in Chromium, against a stand-in for the collector's API (a small HTTP
// server here serving the built dashboard and synthetic answers), so the figures are the page's alone:
// the flow view for flows of 50, 500 and 2,000 spans and the map for 20, 100 and 300 nodes, each from
// the address changing to the last bar or node drawn (the API read included), beside the same data read
// and drawn as a plain HTML table in the same page; then the map's frames per second at 300 nodes while
// the live feed reports 200 edges' traffic a second, beside the same page idle.
import { readFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ApiHop, ApiSpan, CatalogResponse, FlowResponse, FlowStatsResponse, LiveTraffic, ModelResponse } from '../collector/src/api/types.ts';
import { launchChromium } from '../dashboard/test/browser.ts';
import { syntheticChoreography } from './synthetic-choreography.ts';

const DIST = fileURLToPath(new URL('../dashboard/dist/', import.meta.url));
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json' };
const T0 = Date.UTC(2026, 11, 1, 12);

/**
 * One flow of `spans` spans: a chain through ten services and ten event types, over and over (a batch
 * job's orders, a saga retried), each delivery an arrow from the previous.
 */
function syntheticFlow(spans: number): FlowResponse {
  const list: ApiSpan[] = [];
  const hops: ApiHop[] = [];
  const traceId = 'c'.repeat(32);
  for (let i = 0; i < spans; i += 1) {
    const producer = i % 2 === 0;
    const service = `service-${Math.floor(i / 2) % 10}${producer ? '' : '-next'}`;
    const startMs = T0 + i * 20;
    list.push({
      traceId, spanId: i.toString(16).padStart(16, '0'), parentSpanId: null, name: producer ? `send Event${(i / 2) % 10}` : `process Event${((i - 1) / 2) % 10}`,
      kind: producer ? 'producer' : 'consumer', startTimeMs: startMs, endTimeMs: startMs + (producer ? 3 : 15), status: { code: 'unset', message: '' },
      serviceName: service, businessKey: 'order-bench', attributes: { 'messaging.destination.name': 'orders', 'choreoscope.event.type': `Event${Math.floor(i / 2) % 10}` },
      events: [], links: [], resource: { 'service.name': service }, scope: { name: 'bench', version: '1' },
    });
    if (!producer) {
      const from = list[i - 1]!;
      const to = list[i]!;
      hops.push({
        kind: 'delivery', from: { traceId, spanId: from.spanId }, to: { traceId, spanId: to.spanId }, joinedBy: 'parent', pending: false, destination: 'orders',
        eventType: `Event${Math.floor(i / 2) % 10}`, fromService: from.serviceName, toService: to.serviceName, consumerGroup: to.serviceName, attempt: 1,
        waitMs: to.startTimeMs - from.endTimeMs, processingMs: 15, clockSkew: false,
      });
    }
  }
  const flow = {
    flowId: `${'d'.repeat(32)}-${'e'.repeat(16)}`, businessKeys: ['order-bench'], traceIds: [traceId], traceCount: 1, firstEventMs: T0,
    lastEventMs: list.at(-1)!.endTimeMs, durationMs: list.at(-1)!.endTimeMs - T0, services: [...new Set(list.map((s) => s.serviceName))],
    eventTypes: [], spanCount: spans, errorCount: 0, hopCount: hops.length, pendingHops: 0, anomalies: [], droppedSpans: 0, state: 'completed' as const,
    explanation: null, expectedCompletionMs: null,
  };
  return { flow, spans: list, hops, anomalies: [] };
}

const EMPTY_STATS: FlowStatsResponse = {
  startMs: 0, endMs: 1, byState: { running: 0, late: 0, stalled: 0, completed: 0, failed: 0, compensated: 0 },
  duration: { count: 0, p50Ms: null, p90Ms: null, p99Ms: null, maxMs: null, histogram: [] }, funnel: [],
};

export async function renderBenchmark(seconds: number): Promise<void> {
  const flows = new Map([50, 500, 2_000].map((n) => [`bench-${n}`, syntheticFlow(n)]));
  const maps = new Map([['20', syntheticChoreography(1, 9)], ['100', syntheticChoreography(5, 9)], ['300', syntheticChoreography(16, 9)]]);
  let current = maps.get('20')!;
  const listeners = new Set<ServerResponse>();
  const server = createServer((request, response) => {
    const url = new URL(request.url!, 'http://bench');
    const json = (body: unknown) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (url.pathname === '/api/live') {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write('event: hello\ndata: {}\n\n');
      listeners.add(response);
      request.on('close', () => listeners.delete(response));
      return;
    }
    if (url.pathname.startsWith('/api/flows/')) return json(flows.get(decodeURIComponent(url.pathname.slice('/api/flows/'.length))));
    if (url.pathname === '/api/flows') return json({ flows: [], nextCursor: null });
    if (url.pathname === '/api/model') return json(current.model satisfies ModelResponse);
    if (url.pathname === '/api/catalog') return json(current.catalog satisfies CatalogResponse);
    if (url.pathname === '/api/stats/flows') return json(EMPTY_STATS);
    if (url.pathname === '/api/alerts') return json({ alerts: [] });
    if (url.pathname === '/api/diagnostics/propagation') return json({ sinceMs: 0, gaps: [] });
    const file = url.pathname === '/' ? 'index.html' : url.pathname.slice(1);
    let body: Buffer;
    try {
      body = readFileSync(join(DIST, file));
    } catch {
      return response.writeHead(404).end();
    }
    response.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1680, height: 860 } });
  await page.goto(`${base}/#/alerts`);

  /** Milliseconds from the address changing to `count` elements matching `selector`; the median of three. */
  const drawTime = async (hash: string, selector: string, count: number): Promise<number> => {
    const times: number[] = [];
    for (let run = 0; run < 3; run += 1) {
      await page.evaluate('location.hash = "#/catalog"');
      await page.waitForTimeout(200);
      const started = Date.now();
      await page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
      await page.waitForFunction(`document.querySelectorAll(${JSON.stringify(selector)}).length >= ${count}`, undefined, { polling: 'raf', timeout: 60_000 });
      times.push(Date.now() - started);
    }
    return times.sort((a, b) => a - b)[1]!;
  };
  /** The same data read from the same address and drawn as a plain table: a row per item, a cell per field. */
  const tableTime = (path: string, items: string) => page.evaluate(`(async () => {
    const started = performance.now();
    const data = await (await fetch(${JSON.stringify(path)})).json();
    const table = document.createElement('table');
    for (const item of ${items}) {
      const row = table.insertRow();
      for (const value of Object.values(item)) row.insertCell().textContent = typeof value === 'object' ? JSON.stringify(value) : String(value);
    }
    document.body.append(table);
    void table.offsetHeight;
    const ms = performance.now() - started;
    table.remove();
    return ms;
  })()`) as Promise<number>;

  try {
    console.log('render: the dashboard in Chromium against a stand-in API, the median of three draws, beside a plain HTML table of the same data');
    for (const [id, flow] of flows) {
      const ms = await drawTime(`#/flows/${id}`, 'rect.bar', flow.spans.length);
      const table = await tableTime(`/api/flows/${id}`, 'data.spans');
      console.log(`  the flow view, ${flow.spans.length} spans: ${ms} ms to the last bar (baseline, a table of its spans: ${table.toFixed(0)} ms)`);
    }
    for (const [name, choreography] of maps) {
      current = choreography;
      const nodes = choreographyMapNodes(choreography);
      const ms = await drawTime('#/map', 'g.node', nodes);
      const table = await tableTime('/api/model', 'data.steps.flatMap((s) => s.consumers.map((c) => ({ eventType: s.eventType, ...c })))');
      console.log(`  the map, ${nodes} nodes (asked for ${name}): ${ms} ms to the last node (baseline, a table of its edges: ${table.toFixed(0)} ms)`);
    }

    // frames while the live feed reports traffic on the 300-node map's edges
    current = maps.get('300')!;
    await page.evaluate('location.hash = "#/catalog"');
    await page.evaluate('location.hash = "#/map"');
    await page.waitForFunction(`document.querySelectorAll('g.node').length >= ${choreographyMapNodes(current)}`, undefined, { polling: 'raf', timeout: 60_000 });
    const measure = () => page.evaluate(`new Promise((resolve) => {
      let frames = 0, longest = 0;
      const started = performance.now();
      let last = started;
      const tick = (at) => {
        frames += 1; longest = Math.max(longest, at - last); last = at;
        if (at - started < ${seconds * 1_000}) requestAnimationFrame(tick); else resolve({ frames, longest });
      };
      requestAnimationFrame(tick);
    })`) as Promise<{ frames: number; longest: number }>;
    const idle = await measure();
    const consumers = current.model.steps.flatMap((step) => step.consumers.map((c) => ({ eventType: step.eventType, service: c.service, group: c.group })));
    let sent = 0;
    const feeding = setInterval(() => {
      // 10 edges' traffic every 50 ms: 200 a second, each a handling of 1 to 3 events
      const traffic: LiveTraffic[] = Array.from({ length: 10 }, () => {
        const c = consumers[Math.floor(Math.random() * consumers.length)]!;
        return { eventType: c.eventType, destination: 't', role: 'consumer', service: c.service, consumerGroup: c.group, spans: 1 + Math.floor(Math.random() * 3) };
      });
      sent += traffic.length;
      for (const listener of listeners) listener.write(`event: traffic\ndata: ${JSON.stringify({ atMs: Date.now(), traffic })}\n\n`);
    }, 50);
    const busy = await measure();
    clearInterval(feeding);
    console.log(`  the map at ${choreographyMapNodes(current)} nodes with ${(sent / seconds).toFixed(0)} edges' traffic a second: ${(busy.frames / seconds).toFixed(1)} frames a second, `
      + `the longest frame ${busy.longest.toFixed(0)} ms (baseline, the same page idle: ${(idle.frames / seconds).toFixed(1)} frames a second, the longest ${idle.longest.toFixed(0)} ms)`);
  } finally {
    for (const listener of listeners) listener.end();
    await browser.close();
    server.closeAllConnections();
    server.close();
  }
}

/** Nodes the map draws for a synthetic choreography: its event types and services. */
function choreographyMapNodes(choreography: { model: ModelResponse }): number {
  const services = new Set<string>();
  for (const step of choreography.model.steps) {
    for (const p of step.producers) services.add(p.service);
    for (const c of step.consumers) services.add(c.service);
  }
  return choreography.model.steps.length + services.size;
}
