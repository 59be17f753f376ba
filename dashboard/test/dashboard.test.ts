/**
 * The dashboard in a real Chromium against a real collector fed real OTLP spans of an order
 * choreography: the token prompt, then the map whose nodes and edges are the model's, the compensation
 * band apart, stuck badges as the statistics count them, the map growing and dots moving when new spans
 * arrive (no reload), the details of a node with its flows, and a flow's deep link surviving a reload.
 * Span data carrying script payloads shows as text in the map and its details: nothing runs, nothing is
 * added to the page. Screenshots of each view are saved (the folder is printed).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import type { AlertDetailResponse, AlertsResponse, CatalogResponse, FlowResponse, FlowStatsResponse, FlowsResponse, ModelResponse } from '../../collector/src/api/types.ts';
import { startCollector, waitFor, type RunningCollector } from '../../collector/test/helpers.ts';
import { FIXTURE_KEY_ATTRIBUTES } from '../../collector/test/fixture-flows-api.ts';
import type { Dialect } from '../../collector/test/flow-fixtures.ts';
import { pgliteStores } from '../../collector/test/stores.ts';
import { choreographyMap, shortened } from '../src/model/map-model.ts';
import { funnelBars } from '../src/model/stats-charts.ts';
import { SCREENSHOTS_DIR, launchChromium, screenshot } from './browser.ts';
import { PLAIN_NAMES, exportBody, orderSpans, type Ending, type Names } from './order-spans.ts';

// what the page's own functions see, run in the browser (the tests type-check without the DOM's types)
declare const window: Record<string, unknown>;
declare const document: {
  querySelector(selector: string): { textContent: string | null } | null;
  querySelectorAll(selector: string): { length: number };
  scripts: { length: number };
};

const TOKEN = 'dashboard-test-token';
let collector: RunningCollector;
let browser: Browser;
const saved: string[] = [];

const api = async <T>(path: string): Promise<T> => {
  const response = await fetch(`${collector.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(response.status, 200, `${path}: ${response.status}`);
  return await response.json() as T;
};

let orders = 0;
/** Posts a new order's spans; returns its id (the business key is the namespace, then the id). */
async function post(
  ending: Ending, startMs: number, names: Names = PLAIN_NAMES, namespace = 'plain:', orderId = `order-${(orders += 1)}`, dialect: Dialect = 'choreoscope',
): Promise<string> {
  const response = await fetch(`${collector.url}/v1/traces`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: exportBody(orderSpans(orderId, startMs, ending, names, dialect), namespace),
  });
  assert.equal(response.status, 200, await response.text());
  return orderId;
}
/** The orders left stalled after payment handled OrderCreated, with when each started. */
const stalledOrders: { orderId: string; startMs: number }[] = [];

/** A page on the dashboard, past the token prompt. */
async function openDashboard(hash = '#/map'): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1680, height: 860 }, acceptDownloads: true });
  page.on('pageerror', (error) => assert.fail(`the page threw: ${error.message}`));
  await page.goto(`${collector.url}/${hash}`);
  await page.getByTestId('token-prompt').waitFor();
  await page.fill('input[name=token]', TOKEN);
  await page.click('.token-form button[type=submit]');
  await page.getByTestId('token-prompt').waitFor({ state: 'detached' });
  return page;
}

const attributeValues = (page: Page, selector: string, attribute: string) =>
  page.$$eval(selector, (elements, name) => elements.map((element) => element.getAttribute(name)!).sort(), attribute);

before(async () => {
  // the business key as other instrumentations carry it, besides Choreoscope's own
  collector = await startCollector(pgliteStores, {
    server: { apiTokens: [TOKEN], businessKeyAttributes: FIXTURE_KEY_ATTRIBUTES, flows: { settleAfterMs: 1_000, exportDelayMs: 0 } },
  });
  browser = await launchChromium();
  const now = Date.now();
  for (let i = 0; i < 24; i += 1) await post('shipped', now - 240_000 + i * 5_000);
  for (let i = 0; i < 20; i += 1) await post('cancelled', now - 230_000 + i * 5_000);
  for (let i = 0; i < 3; i += 1) {
    const startMs = now - 120_000 + i * 1_000;
    stalledOrders.push({ orderId: await post('stalled-at-payment', startMs), startMs });
  }
  // learned from the settled flows, the stalled ones judged against it
  await waitFor(async () => (await api<ModelResponse>('/api/model')).steps.some((step) => step.terminal === 'compensated'), 30_000, () => 'the model learned');
  let stuck: number | undefined;
  await waitFor(async () => {
    stuck = (await api<FlowStatsResponse>(`/api/stats/flows?start=${now - 3_600_000}`)).funnel.find((s) => s.eventType === 'OrderCreated')?.stuck;
    return stuck === 3;
  }, 30_000, () => `${stuck} flows stuck after OrderCreated`);
});

after(async () => {
  await browser?.close();
  await collector?.close();
  if (saved.length > 0) console.log(`dashboard screenshots: ${SCREENSHOTS_DIR}`);
});

test('the map draws the model\'s nodes and edges, the compensation band apart, stuck badges where flows wait', async () => {
  const page = await openDashboard();
  try {
    await page.waitForSelector('[data-node="event:OrderCreated"]');
    const model = await api<ModelResponse>('/api/model');
    const catalog = await api<CatalogResponse>('/api/catalog');
    const stats = await api<FlowStatsResponse>(`/api/stats/flows?start=${Date.now() - 86_400_000}`);
    const expected = choreographyMap({ model, catalog, stuckAfter: new Map(stats.funnel.map((s) => [s.eventType, s.stuck])) });
    assert.deepEqual(await attributeValues(page, 'g.node', 'data-node'), expected.nodes.map((n) => n.id).sort());
    assert.deepEqual(await attributeValues(page, 'path.edge', 'data-edge'), expected.edges.map((e) => e.id).sort());
    // the choreography as a person reads it: each handler sends the next event; the origin sends the first
    for (const edge of [
      'produce:service:order|->OrderCreated', 'consume:OrderCreated->service:payment|payment', 'consume:OrderCreated->service:analytics|analytics',
      'produce:service:payment|payment->PaymentAuthorized', 'produce:service:payment|payment->PaymentFailed',
      'consume:PaymentFailed->service:order|order-compensation', 'produce:service:order|order-compensation->OrderCancelled',
      'produce:service:shipping|shipping->OrderShipped',
    ]) assert.ok(expected.edges.some((e) => e.id === edge), edge);

    const centre = (id: string) => page.$eval(`[data-node="${id}"]`, (g) => {
      const match = /translate\(([-\d.]+),([-\d.]+)\)/.exec(g.getAttribute('transform')!)!;
      return { x: Number(match[1]), y: Number(match[2]), band: g.classList.contains('compensation') ? 'compensation' : 'main' };
    });
    const main = await Promise.all(['event:OrderCreated', 'event:PaymentAuthorized', 'event:StockReserved', 'event:OrderShipped'].map(centre));
    assert.ok(main.every((node, i) => i === 0 || node.x > main[i - 1]!.x), 'the main chain reads left to right');
    const cancelled = await centre('event:OrderCancelled');
    assert.equal(cancelled.band, 'compensation');
    assert.ok(cancelled.y > Math.max(...main.map((node) => node.y)), 'the compensation band is below the main chain');

    const badge = await page.$eval('[data-node="event:OrderCreated"] g.badge', (g) => ({ shown: g.getAttribute('display') !== 'none', text: g.textContent }));
    assert.deepEqual(badge, { shown: true, text: '3 stuck' });
    // flows that ended before their last event was learned as an end wait for their next look to be called completed
    const stuckInAll = stats.funnel.reduce((sum, step) => sum + step.stuck, 0);
    assert.match(await page.getByTestId('map-status').textContent() ?? '', new RegExp(`· ${stuckInAll} flows stuck \\(active in the last 24 h\\) ·`));
    // with nothing clicked, the panel lists what is stuck, grouped by what it waits for
    const stuckNow = page.getByTestId('stuck-now');
    await stuckNow.locator('.stuck-group').first().waitFor();
    const heads = await stuckNow.locator('.stuck-head').allTextContents();
    assert.ok(heads.includes('3 waiting for PaymentAuthorized or PaymentFailed from payment, after OrderCreated'), heads.join(' | '));
    const firstFlow = await stuckNow.locator('.stuck-group').first().locator('li').first().textContent();
    assert.match(firstFlow ?? '', /stalled for [\d.]+ min, [\d.]+ min overdue$/, 'since when, and how overdue');
    assert.match(await page.getByTestId('legend').textContent() ?? '', /sends.*handles.*compensation/);
    saved.push(await screenshot(page, 'map'));
  } finally {
    await page.close();
  }
});

test('new spans move dots along the edges and grow the map, without a reload', async () => {
  const page = await openDashboard();
  try {
    await page.waitForSelector('[data-node="event:OrderCreated"]');
    await page.evaluate(() => (window.stayed = true));
    await post('shipped', Date.now() - 300, { ...PLAIN_NAMES, notification: 'loyalty' });
    await page.waitForSelector('circle.dot', { timeout: 10_000 });
    await page.waitForSelector('[data-node="service:loyalty|loyalty"]', { timeout: 20_000 });
    assert.equal(await page.evaluate(() => window.stayed), true, 'the same page, not reloaded');
    assert.equal(await page.getByTestId('live').textContent(), 'live');
  } finally {
    await page.close();
  }
});

test('a node\'s details list its flows; a flow\'s link opens it, and the deep link survives a reload', async () => {
  const page = await openDashboard();
  try {
    await page.click('[data-node="event:OrderCreated"]');
    const details = page.getByTestId('map-details');
    await details.locator('h2', { hasText: 'OrderCreated' }).waitFor();
    await details.locator('a[href^="#/flows/"]').first().waitFor();
    const rows = await details.locator('dt').allTextContents();
    assert.deepEqual(rows.slice(0, 4), ['sent', 'topics', 'sent by', 'handled by']);
    saved.push(await screenshot(page, 'map-details'));
    // a handling edge: its wait in Kafka, how long a handling takes, the share of deliveries that failed
    await page.locator('path.edge[data-edge="consume:OrderCreated->service:payment|payment"]').dispatchEvent('click');
    await details.locator('h2', { hasText: 'payment handles OrderCreated' }).waitFor();
    assert.deepEqual(await details.locator('dt').allTextContents(), ['rate, last minute', 'wait in Kafka', 'handling', 'attempts failed']);
    assert.match(await details.locator('dd').nth(2).textContent() ?? '', /^p50 \d+ ms · p90 \d+ ms · p99 \d+ ms \(\d+ seen\)$/);
    assert.equal(await details.locator('dd').nth(3).textContent(), '0%');
    const href = await details.locator('a[href^="#/flows/"]').first().getAttribute('href');
    await details.locator('a[href^="#/flows/"]').first().click();
    const flowId = decodeURIComponent(href!.slice('#/flows/'.length));
    const flow = await api<FlowResponse>(`/api/flows/${encodeURIComponent(flowId)}`);
    const title = page.getByTestId('flow-head').locator('h1');
    await title.waitFor();
    assert.equal(await title.textContent(), flow.flow.businessKeys.join(', '));
    await page.reload();
    await title.waitFor();
    assert.equal(await title.textContent(), flow.flow.businessKeys.join(', '), 'the token kept in the tab, the address kept');
    assert.equal(page.url(), `${collector.url}/${href}`);
  } finally {
    await page.close();
  }
});

test('a stalled flow\'s timeline: a lane per service, each delivery labelled with how it was joined, the wait hatched apart; it moves on live', async () => {
  const { orderId, startMs } = stalledOrders[0]!;
  const [summary] = (await api<FlowsResponse>(`/api/flows?businessKey=${encodeURIComponent(`plain:${orderId}`)}`)).flows;
  const page = await openDashboard();
  try {
    // found by its business key from the header's search
    await page.fill('input[name=flow-search]', `plain:${orderId}`);
    await page.click('.flow-search button');
    await page.waitForURL(`**/#/flows/${encodeURIComponent(summary!.flowId)}`);
    const head = page.getByTestId('flow-head');
    await head.locator('h1').waitFor();
    assert.equal(await page.getByTestId('flow-state').textContent(), 'stalled');
    const explanationText = await page.getByTestId('flow-explanation').textContent() ?? '';
    assert.match(explanationText, /^waiting for PaymentAuthorized or PaymentFailed from payment since /);
    assert.doesNotMatch(explanationText, /\d{4}-\d\d-\d\dT/, 'its times in the browser\'s clock, not UTC');

    const flow = await api<FlowResponse>(`/api/flows/${summary!.flowId}`);
    const firstSeen = [...flow.spans].sort((a, b) => a.startTimeMs - b.startTimeMs).map((s) => s.serviceName).filter((s, i, all) => all.indexOf(s) === i);
    assert.deepEqual(await page.$$eval('text.lane-name', (names) => names.map((n) => n.getAttribute('data-lane'))), firstSeen, 'a lane per service, in the order reached');
    const deliveries = flow.hops.filter((hop) => hop.kind === 'delivery');
    assert.deepEqual(await page.$$eval('text.hop-label', (labels) => labels.map((l) => l.textContent).sort()),
      deliveries.map((hop) => `by ${hop.joinedBy}`).sort(), 'each delivery says how it was joined');
    assert.equal(await page.locator('rect.wait').count(), deliveries.filter((hop) => hop.waitMs !== null && hop.waitMs > 0).length, 'the wait in Kafka, hatched');
    assert.equal(await page.locator('rect.bar').count(), flow.spans.length);
    assert.deepEqual((await page.$$eval('text.bar-label', (labels) => labels.map((l) => l.textContent))).sort(),
      ['handles OrderCreated', 'handles OrderCreated', `${orderId}.http`, 'sends OrderCreated'].sort(), 'each bar named, where there is room');
    saved.push(await screenshot(page, 'flow-stalled'));

    // a bar's span, attributes as text
    await page.locator('rect.bar.consumer').first().click();
    const details = page.getByTestId('span-details');
    await details.locator('dt', { hasText: 'messaging.consumer.group.name' }).waitFor();

    // the rest of the order arrives: the same page follows it to its end
    await page.evaluate(() => (window.stayed = true));
    await post('shipped', startMs, PLAIN_NAMES, 'plain:', orderId);
    await page.waitForFunction(() => document.querySelector('[data-testid=flow-state]')?.textContent === 'completed', undefined, { timeout: 20_000 });
    await page.locator('text.lane-name[data-lane=shipping]').waitFor();
    assert.equal(await page.evaluate(() => window.stayed), true, 'not reloaded');
    // beside it, the chain at a glance
    await page.getByTestId('flow-graph').locator('text.label', { hasText: 'OrderShipped' }).waitFor();
    const chain = await page.getByTestId('flow-graph').locator('g.node.event text.label').allTextContents();
    assert.deepEqual(chain.sort(), ['OrderCreated', 'OrderShipped', 'PaymentAuthorized', 'StockReserved']);
    // the last bar's name ends inside the plot, not cut off at its edge
    await page.locator('text.bar-label', { hasText: 'handles OrderShipped' }).waitFor();
    type Box = { getBoundingClientRect(): { right: number }; textContent: string | null };
    const cut = await page.$$eval('text.bar-label', (labels) => {
      const plot = (document.querySelector('[data-testid=timeline] svg') as unknown as Box).getBoundingClientRect();
      return (labels as unknown as Box[]).filter((l) => l.getBoundingClientRect().right > plot.right - 4).map((l) => l.textContent);
    });
    assert.deepEqual(cut, [], 'bar labels running past the plot');
    saved.push(await screenshot(page, 'flow-completed'));
  } finally {
    await page.close();
  }
});

test('alerts: the stalled flows\' alert firing, opened from its link with its flows and history; acknowledged and silenced from the page', async () => {
  let firing: AlertsResponse['alerts'] = [];
  await waitFor(async () => {
    firing = (await api<AlertsResponse>('/api/alerts?state=firing')).alerts.filter((a) => a.subject.startsWith('waiting for PaymentAuthorized or PaymentFailed from payment'));
    return firing.length === 1;
  }, 20_000, () => 'the alert on the three stalled orders');
  const alert = firing[0]!;
  const page = await openDashboard(`#/alerts/${encodeURIComponent(alert.id)}`);
  try {
    const opened = page.getByTestId('alert-details');
    await opened.locator('h2', { hasText: alert.title }).waitFor();
    assert.equal(await page.locator(`li.alert.firing[data-alert=${JSON.stringify(alert.id)}] a`).textContent(), alert.title);
    assert.deepEqual(await opened.locator('a[href^="#/flows/"]').evaluateAll((links) => links.map((l) => l.getAttribute('href'))),
      alert.flowIds.map((id) => `#/flows/${encodeURIComponent(id)}`), 'its flows, linked');
    const detail = await api<AlertDetailResponse>(`/api/alerts/${alert.id}`);
    assert.deepEqual(await page.getByTestId('alert-flows').locator('a').allTextContents(), detail.flows.map((f) => f.businessKeys.join(', ')),
      'named by their business keys');
    assert.equal(detail.flows.length, alert.flowIds.length, 'each of its flows described');
    assert.ok(detail.flows.every((f) => f.state === 'stalled' && stalledOrders.some(({ orderId }) => f.businessKeys.includes(`plain:${orderId}`))),
      `stalled orders, by key: ${JSON.stringify(detail.flows)}`);
    await page.getByTestId('acknowledge').click();
    await page.getByTestId('alert-history').locator('li', { hasText: 'acknowledged by dashboard' }).waitFor();
    await page.getByTestId('silence').click();
    await page.getByTestId('unsilence').waitFor();
    const stored = (await api<{ alert: AlertsResponse['alerts'][number] }>(`/api/alerts/${alert.id}`)).alert;
    assert.equal(stored.acknowledged?.by, 'dashboard');
    assert.ok(stored.silencedUntilMs! > Date.now() + 3_500_000, 'silenced for an hour');
    saved.push(await screenshot(page, 'alerts'));
    await page.getByTestId('unsilence').click();
    await page.getByTestId('silence').waitFor();
    assert.ok((await api<{ alert: AlertsResponse['alerts'][number] }>(`/api/alerts/${alert.id}`)).alert.silencedUntilMs! <= Date.now(), 'lifted');
  } finally {
    await page.close();
  }
});

test('the catalogue: flows by state, the step funnel and the durations drawn from the statistics, every event type listed', async () => {
  const page = await openDashboard('#/catalog');
  try {
    await page.locator('[data-testid=funnel] svg g[data-event="OrderCreated"]').waitFor();
    const stats = await api<FlowStatsResponse>(`/api/stats/flows?start=${Date.now() - 86_400_000}`);
    const drawn = await page.$$eval('[data-testid=funnel] svg g', (rows) => rows.map((row) => row.getAttribute('data-event')));
    const model = await api<ModelResponse>('/api/model');
    assert.deepEqual(drawn, funnelBars(stats, model).map((bar) => bar.eventType), 'a bar per event reached, in the chain\'s order');
    assert.deepEqual(new Set(drawn), new Set(stats.funnel.map((step) => step.eventType)));
    assert.ok(drawn.indexOf('OrderCreated') < drawn.indexOf('PaymentAuthorized') && drawn.indexOf('PaymentAuthorized') < drawn.indexOf('StockReserved'),
      `the chain's order: ${drawn.join(', ')}`);
    const orderCreated = stats.funnel.find((step) => step.eventType === 'OrderCreated')!;
    assert.equal(await page.locator('[data-testid=funnel] g[data-event="OrderCreated"] text.count').textContent(),
      `${orderCreated.reached}${orderCreated.stuck + orderCreated.failed > 0 ? ` (${orderCreated.stuck} stuck, ${orderCreated.failed} failed)` : ''}`);
    assert.equal(await page.locator('rect.duration-bar').count(), Math.log2(stats.duration.histogram.at(-1)!.upToMs / stats.duration.histogram[0]!.upToMs) + 1);
    const catalog = await api<CatalogResponse>('/api/catalog');
    assert.deepEqual(await page.$$eval('[data-testid=catalog-events] tbody tr', (rows) => rows.map((row) => row.getAttribute('data-event'))),
      catalog.events.map((event) => event.eventType));
    saved.push(await screenshot(page, 'catalog'));
    const download = page.waitForEvent('download');
    await page.getByTestId('asyncapi').click();
    const document = JSON.parse(await (await download).createReadStream().then(async (stream) => {
      let text = '';
      for await (const chunk of stream) text += chunk;
      return text;
    })) as { asyncapi: string; channels: object };
    assert.equal(document.asyncapi, '3.0.0', 'the AsyncAPI document, fetched with the token');
  } finally {
    await page.close();
  }
});

for (const dialect of ['official', 'legacy'] as const) {
  test(`spans of other instrumentations (${dialect === 'official' ? 'the official kafkajs one: no group, no event type' : 'older semantic conventions, as Java and Go send them'}) make the same map and timeline`, async () => {
    const namespace = `${dialect}:`;
    const orderId = await post('shipped', Date.now() - 30_000, PLAIN_NAMES, namespace, undefined, dialect);
    let flowId: string | undefined;
    await waitFor(async () => {
      flowId = (await api<FlowsResponse>(`/api/flows?businessKey=${encodeURIComponent(`${namespace}${orderId}`)}`)).flows[0]?.flowId;
      return flowId !== undefined;
    }, 20_000, () => `the ${dialect} order's flow`);
    const flow = await api<FlowResponse>(`/api/flows/${flowId}`);
    assert.equal(flow.flow.services.length, 6, `one flow across the six services: ${flow.flow.services.join(', ')}`);
    const page = await openDashboard(`#/flows/${encodeURIComponent(flowId!)}`);
    try {
      await page.getByTestId('flow-head').locator('h1').waitFor();
      assert.deepEqual(await page.$$eval('text.lane-name', (names) => names.map((n) => n.getAttribute('data-lane'))),
        ['order', 'payment', 'analytics', 'inventory', 'shipping', 'notification']);
      assert.equal(await page.locator('path.hop').count(), flow.hops.filter((hop) => hop.kind === 'delivery').length);
      // neither names an event type: the topic stands for it; the official one names no consumer group either,
      // so each handling service is its own node, still handing the chain on
      const topic = `${namespace}orders`;
      const group = dialect === 'official' ? '' : 'payment';
      await page.goto(`${collector.url}/#/map`);
      await page.locator(`g.node[data-node=${JSON.stringify(`event:${topic}`)}]`).waitFor();
      await page.locator(`path.edge[data-edge=${JSON.stringify(`consume:${topic}->service:payment|${group}`)}]`).waitFor();
      await page.locator(`path.edge[data-edge=${JSON.stringify(`produce:service:payment|${group}->${namespace}payments`)}]`).waitFor();
    } finally {
      await page.close();
    }
  });
}

test('names from spans carrying script payloads show as text in the map, its details, a flow\'s timeline, an alert and the catalogue: nothing runs, nothing is added', async () => {
  const payloads = {
    order: '<img src=x onerror="window.__xss=1">', payment: '<script>window.__xss=2</script>', paymentGroup: 'javascript:window.__xss=3',
    orderCreated: '<svg onload="window.__xss=4"><circle r=9 /></svg>', paymentAuthorized: '"><img src=x onerror=alert(5)>',
    spanName: '<img src=x onerror="window.__xss=7">', attributeKey: '<script>window.__xss=8</script>', exception: '<a href="javascript:window.__xss=9">boom</a>',
  };
  const names: Names = { ...PLAIN_NAMES, ...payloads, keyAttribute: '<iframe src="javascript:alert(6)">' };
  // enough orders for their steps to be trusted, and one stalled: an alert whose title carries the names
  for (let i = 0; i < 22; i += 1) await post('shipped', Date.now() - 200_000 + i * 1_000, names, 'hostile:');
  // and one whose handling failed, its span's name, an attribute's key, its status and its exception message hostile
  const failedOrder = `order-${(orders += 1)}`;
  const failing = JSON.parse(exportBody(orderSpans(failedOrder, Date.now() - 120_000, 'stalled-at-payment', names), 'hostile:')) as {
    resourceSpans: { scopeSpans: { spans: Record<string, unknown>[] }[] }[];
  };
  const handling = failing.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)).find((span) => span.name === `${failedOrder}.payment`)!;
  Object.assign(handling, {
    name: payloads.spanName, status: { code: 2, message: payloads.exception },
    attributes: [...(handling.attributes as unknown[]), { key: payloads.attributeKey, value: { stringValue: 'x' } }],
    events: [{ name: 'exception', timeUnixNano: handling.startTimeUnixNano, attributes: [{ key: 'exception.message', value: { stringValue: payloads.exception } }] }],
  });
  const failedResponse = await fetch(`${collector.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(failing) });
  assert.equal(failedResponse.status, 200, await failedResponse.text());
  await waitFor(async () => (await api<CatalogResponse>('/api/catalog')).events.some((e) => e.eventType === payloads.orderCreated), 20_000, () => 'in the catalogue');
  const page = await openDashboard();
  const dialogs: string[] = [];
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  try {
    // a node is found by its id (a CSS string: JSON's escapes are CSS's), its long name cut in the label and whole in its tooltip
    const node = (id: string) => page.locator(`g.node[data-node=${JSON.stringify(id)}]`);
    const hostile = node(`event:${payloads.orderCreated}`);
    await hostile.waitFor({ timeout: 20_000 });
    assert.equal(await hostile.locator('text.label').textContent(), shortened(payloads.orderCreated), 'the payload is the label\'s text');
    assert.ok((await hostile.locator('title').textContent())!.startsWith(`event type ${payloads.orderCreated}`), 'whole in its tooltip');
    await node(`service:${payloads.payment}|${payloads.paymentGroup}`).waitFor();
    await hostile.click();
    const details = page.getByTestId('map-details');
    await details.locator('h2').filter({ hasText: payloads.orderCreated }).waitFor();
    await details.locator('a[href^="#/flows/"]').first().waitFor();
    assert.ok((await details.textContent())!.includes(payloads.order), 'the hostile producer is listed, as text');
    await node(`service:${payloads.payment}|${payloads.paymentGroup}`).click();
    await details.locator('h2').filter({ hasText: payloads.payment }).waitFor();
    saved.push(await screenshot(page, 'map-hostile-names'));
    // the hostile flow's timeline and a span's attributes
    await details.locator('a[href^="#/flows/"]').first().click();
    await page.getByTestId('flow-head').locator('h1').waitFor();
    await page.locator('rect.bar.producer').first().click();
    await page.getByTestId('span-details').locator('dd', { hasText: names.keyAttribute }).first().waitFor();
    assert.equal(await page.locator(`text.lane-name[data-lane=${JSON.stringify(payloads.order)}]`).count(), 1, 'the hostile service is a lane, named as text');
    const injected = await page.evaluate(() => ({
      sentinel: window.__xss ?? null,
      elements: document.querySelectorAll('img, iframe, object, embed, svg svg, script:not([src])').length,
      scripts: document.scripts.length,
      javascriptLinks: document.querySelectorAll('a[href^="javascript:"]').length,
    }));
    // the failed handling's span: its name, an attribute's key, its status and its exception, as text
    await page.goto(`${collector.url}/#/map`);
    await page.fill('input[name=flow-search]', `hostile:${failedOrder}`);
    await page.click('.flow-search button');
    await page.getByTestId('flow-head').locator('h1').waitFor();
    await page.locator('rect.bar.consumer.error').first().click();
    const spanDetails = page.getByTestId('span-details');
    await spanDetails.locator('h2').filter({ hasText: payloads.spanName }).waitFor();
    assert.equal(await spanDetails.locator('h2').textContent(), payloads.spanName);
    assert.equal(await spanDetails.locator('dt', { hasText: payloads.attributeKey }).count(), 1, 'an attribute key, as text');
    assert.equal(await spanDetails.locator('dd', { hasText: `error: ${payloads.exception}` }).count(), 1, 'the status message, as text');
    assert.equal(await spanDetails.locator('.span-event dd', { hasText: payloads.exception }).count(), 1, 'the exception message, as text');
    saved.push(await screenshot(page, 'flow-hostile-span'));

    // the alert on the stalled order, its title carrying the names
    let hostileAlert: AlertsResponse['alerts'][number] | undefined;
    await waitFor(async () => {
      hostileAlert = (await api<AlertsResponse>('/api/alerts?state=firing')).alerts.find((a) => a.title.includes(payloads.payment));
      return hostileAlert !== undefined;
    }, 30_000, () => 'the alert on the hostile stalled order');
    await page.goto(`${collector.url}/#/alerts/${encodeURIComponent(hostileAlert!.id)}`);
    await page.getByTestId('alert-details').locator('h2').filter({ hasText: hostileAlert!.title }).waitFor();
    assert.equal(await page.getByTestId('alert-details').locator('h2').textContent(), hostileAlert!.title);
    const again = await page.evaluate(() => ({
      sentinel: window.__xss ?? null,
      elements: document.querySelectorAll('img, iframe, object, embed, svg svg, script:not([src])').length,
      scripts: document.scripts.length,
      javascriptLinks: document.querySelectorAll('a[href^="javascript:"]').length,
    }));
    assert.deepEqual(again, { sentinel: null, elements: 0, scripts: 1, javascriptLinks: 0 }, 'nor in the alerts');
    assert.deepEqual(injected, { sentinel: null, elements: 0, scripts: 1, javascriptLinks: 0 });
    // and the catalogue, which lists every name
    await page.goto(`${collector.url}/#/catalog`);
    await page.locator(`[data-testid=catalog-events] tr[data-event=${JSON.stringify(payloads.orderCreated)}]`).waitFor();
    assert.equal(await page.locator(`[data-testid=catalog-events] tr[data-event=${JSON.stringify(payloads.orderCreated)}] td`).first().textContent(), payloads.orderCreated);
    const inCatalog = await page.evaluate(() => ({
      sentinel: window.__xss ?? null,
      elements: document.querySelectorAll('img, iframe, object, embed, svg svg, script:not([src])').length,
      scripts: document.scripts.length,
      javascriptLinks: document.querySelectorAll('a[href^="javascript:"]').length,
    }));
    assert.deepEqual(inCatalog, { sentinel: null, elements: 0, scripts: 1, javascriptLinks: 0 }, 'nor in the catalogue');
    assert.deepEqual(dialogs, [], 'no dialog opened');
  } finally {
    await page.close();
  }
});
