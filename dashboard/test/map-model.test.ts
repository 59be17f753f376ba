/**
 * The map's layout from API data, pure (model/map-model.ts), with the shapes the API gives: each handler
 * sends the next event, an origin sends the first, compensation lies below the main chain, left to right
 * in the chain's order; consumers seen in the catalogue before the model learned them still appear; rates
 * over a sliding window (model/live-rates.ts); the dashboard's addresses (router.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiLatency, ApiModelStep, CatalogResponse, ModelResponse } from '../../collector/src/api/types.ts';
import { liveRates } from '../src/model/live-rates.ts';
import { shortDuration, shortRate } from '../src/model/format.ts';
import { choreographyMap } from '../src/model/map-model.ts';
import { parseRoute } from '../src/router.ts';

const latency = (p50Ms: number): ApiLatency => ({ count: 30, p50Ms, p90Ms: p50Ms * 1.5, p99Ms: p50Ms * 2, p999Ms: p50Ms * 3 });

function step(eventType: string, producer: string, consumers: [string, string][], next: string[], terminal: ApiModelStep['terminal'] = null): ApiModelStep {
  return {
    eventType, producers: [{ service: producer, count: 30 }], occurrences: 30, trusted: true, terminal, endedHere: terminal === null ? 0 : 30,
    consumers: consumers.map(([group, service]) => ({
      group, service, count: 30, probability: 1, awaited: true, wait: latency(20), untilHandled: latency(110), handling: latency(90), attempts: 32, failedAttempts: group === 'payment' ? 2 : 0, handled: 30, sentNext: next.length > 0 ? 30 : 0, awaitsSend: false,
    })),
    transitions: next.map((eventType, i) => ({ eventType, count: 30, probability: i === 0 ? 0.9 : 0.1, latency: latency(300) })),
  };
}

const model: ModelResponse = {
  savedAtMs: null, windowMs: 3_600_000, minSamples: 20, expectProbability: 0.9,
  steps: [
    step('OrderCreated', 'order', [['payment', 'payment'], ['analytics', 'analytics']], ['PaymentAuthorized', 'PaymentFailed']),
    step('PaymentAuthorized', 'payment', [['inventory', 'inventory']], ['StockReserved']),
    step('StockReserved', 'inventory', [['shipping', 'shipping']], [], 'completed'),
    step('PaymentFailed', 'payment', [['order-compensation', 'order']], ['OrderCancelled']),
    step('OrderCancelled', 'order', [['notification', 'notification']], [], 'compensated'),
  ],
};

const catalog: CatalogResponse = {
  atMs: 0, rateWindowMs: 60_000,
  events: [
    ...model.steps.map((s) => ({
      eventType: s.eventType, topics: ['t'], producers: [{ service: s.producers[0]!.service, spans: 30, lastSeenMs: 0 }],
      consumers: s.consumers.map((c) => ({ service: c.service, consumerGroup: c.group, spans: 30, lastSeenMs: 0 })), attributeKeys: [],
      produced: 30, consumed: 30, ratePerSecond: 2, firstSeenMs: 0, lastSeenMs: 0,
    })),
    // a consumer the model has not learned yet, of an event it has not seen follow anything
    {
      eventType: 'AuditRequested', topics: ['audit'], producers: [{ service: 'backoffice', spans: 2, lastSeenMs: 0 }],
      consumers: [{ service: 'audit', consumerGroup: null, spans: 2, lastSeenMs: 0 }], attributeKeys: [], produced: 2, consumed: 2, ratePerSecond: 0.01,
      firstSeenMs: 0, lastSeenMs: 0,
    },
  ],
};

test('each handler sends the event that follows it; the first event comes from its service as an origin', () => {
  const map = choreographyMap({ model, catalog, stuckAfter: new Map([['OrderCreated', 4]]) });
  const produce = map.edges.filter((e) => e.kind === 'produce').map((e) => `${e.from} -> ${e.eventType}${e.after === null ? '' : ` (after ${e.after})`}`).sort();
  assert.deepEqual(produce, [
    'service:backoffice| -> AuditRequested',
    'service:inventory|inventory -> StockReserved (after PaymentAuthorized)',
    'service:order| -> OrderCreated',
    'service:order|order-compensation -> OrderCancelled (after PaymentFailed)',
    'service:payment|payment -> PaymentAuthorized (after OrderCreated)',
    'service:payment|payment -> PaymentFailed (after OrderCreated)',
  ]);
  const consume = map.edges.filter((e) => e.kind === 'consume').map((e) => `${e.eventType} -> ${e.to}`).sort();
  assert.ok(consume.includes('AuditRequested -> service:audit|'), 'seen in the catalogue only: drawn, with no latency');
  assert.equal(map.edges.find((e) => e.to === 'service:audit|')!.latency, null);
  const payment = map.edges.find((e) => e.to === 'service:payment|payment')!;
  assert.deepEqual(payment.latency, latency(20), 'the wait in Kafka on the consume edge');
  assert.deepEqual([payment.handling, payment.errorRate], [latency(90), 2 / 32], 'its handling time, and the share of attempts that failed');
  assert.deepEqual([map.edges.find((e) => e.to === 'service:audit|')!.handling, map.edges.find((e) => e.to === 'service:audit|')!.errorRate], [null, null]);
  const node = (id: string) => map.nodes.find((n) => n.id === id)!;
  assert.equal(node('event:OrderCreated').stuck, 4);
  assert.equal(node('service:order|order-compensation').detail, 'group order-compensation');
  assert.equal(node('service:payment|payment').detail, null, 'a group named like its service says nothing more');
});

test('the chain reads left to right; what leads only to a compensated end lies in a band below', () => {
  const map = choreographyMap({ model, catalog, stuckAfter: new Map() });
  const node = (id: string) => map.nodes.find((n) => n.id === id)!;
  const chain = ['service:order|', 'event:OrderCreated', 'service:payment|payment', 'event:PaymentAuthorized', 'service:inventory|inventory', 'event:StockReserved'];
  for (let i = 1; i < chain.length; i += 1) assert.ok(node(chain[i]!).x > node(chain[i - 1]!).x, `${chain[i]} right of ${chain[i - 1]}`);
  const compensation = map.nodes.filter((n) => n.band === 'compensation').map((n) => n.id).sort();
  assert.deepEqual(compensation, ['event:OrderCancelled', 'event:PaymentFailed', 'service:notification|notification', 'service:order|order-compensation']);
  const mainBottom = Math.max(...map.nodes.filter((n) => n.band === 'main').map((n) => n.y + n.height / 2));
  for (const id of compensation) assert.ok(node(id).y - node(id).height / 2 > mainBottom, `${id} below the main chain`);
  const band = map.compensation!;
  assert.ok(band.y > mainBottom, 'the band\'s area is below the main chain too');
  for (const id of compensation) {
    const n = node(id);
    assert.ok(n.x - n.width / 2 > band.x && n.x + n.width / 2 < band.x + band.width && n.y - n.height / 2 > band.y && n.y + n.height / 2 < band.y + band.height, `${id} inside the band`);
  }
  assert.ok(node('event:PaymentFailed').x > node('service:payment|payment').x, 'the band starts right of where it branches off');
  for (const n of map.nodes) {
    assert.ok(n.x - n.width / 2 >= 0 && n.y - n.height / 2 >= 0 && n.x + n.width / 2 <= map.width && n.y + n.height / 2 <= map.height, `${n.id} within the map`);
  }
  for (const a of map.nodes) for (const b of map.nodes) {
    if (a === b) continue;
    const apart = Math.abs(a.x - b.x) >= (a.width + b.width) / 2 || Math.abs(a.y - b.y) >= (a.height + b.height) / 2;
    assert.ok(apart, `${a.id} and ${b.id} do not overlap`);
  }
});

test('a long name is cut in its node, and kept whole for its tooltip and details', () => {
  const long = `Order${'Very'.repeat(20)}Created`;
  const map = choreographyMap({ model: { ...model, steps: [] }, catalog: { ...catalog, events: [{ ...catalog.events[0]!, eventType: long }] }, stuckAfter: new Map() });
  const node = map.nodes.find((n) => n.kind === 'event')!;
  assert.equal(node.label, long);
  assert.equal(node.shortLabel.length, 26);
  assert.ok(node.shortLabel.endsWith('…') && long.startsWith(node.shortLabel.slice(0, -1)));
});

test('an empty collector gives an empty map', () => {
  const map = choreographyMap({ model: { ...model, steps: [] }, catalog: { ...catalog, events: [] }, stuckAfter: new Map() });
  assert.deepEqual([map.nodes, map.edges, map.width, map.height, map.compensation], [[], [], 0, 0, null]);
});

test('live rates count over a sliding window and forget what left it', () => {
  const rates = liveRates(10_000);
  rates.add('a', 5, 1_000);
  rates.add('a', 15, 9_500);
  assert.equal(rates.perSecond('a', 9_900), 2);
  assert.equal(rates.perSecond('a', 11_500), 1.5, 'the first second left the window');
  assert.equal(rates.perSecond('a', 30_000), 0);
  assert.equal(rates.perSecond('b', 1_000), 0);
});

test('labels say durations and rates in a few characters', () => {
  assert.deepEqual([shortDuration(840), shortDuration(2_400), shortDuration(42_000), shortDuration(186_000), shortDuration(7_200_000), shortDuration(null)],
    ['840 ms', '2.4 s', '42 s', '3.1 min', '2.0 h', '–']);
  assert.deepEqual([shortRate(12.4), shortRate(1.52), shortRate(0.42), shortRate(0.01), shortRate(0), shortRate(null)], ['12/s', '1.5/s', '25/min', '1/min', '', '']);
});

test('the address names the view; a flow\'s id is decoded, a broken one is nothing', () => {
  assert.deepEqual(parseRoute(''), { view: 'map' });
  assert.deepEqual(parseRoute('#/map'), { view: 'map' });
  assert.deepEqual(parseRoute(`#/flows/${encodeURIComponent('a/b c')}`), { view: 'flow', flowId: 'a/b c' });
  assert.deepEqual(parseRoute('#/alerts/1fa0041a-mx4ne5z4'), { view: 'alerts', alertId: '1fa0041a-mx4ne5z4' });
  assert.deepEqual(parseRoute('#/alerts'), { view: 'alerts', alertId: null });
  assert.deepEqual(parseRoute('#/flows/%E0%A4%A'), { view: 'unknown', hash: '#/flows/%E0%A4%A' });
  assert.deepEqual(parseRoute('#/nowhere'), { view: 'unknown', hash: '#/nowhere' });
});
