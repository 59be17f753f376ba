/**
 * The alert routes through a real collector, on both stores: firing and resolved lists, one alert with
 * its history and deliveries, acknowledge and silence (noted in the history, by whoever says so), the
 * firing count in /metrics, and every bad input answered with its catalogue code.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AlertDetailResponse, AlertResponse, AlertsResponse, ApiErrorBody } from '../src/api/types.ts';
import { AlertBook, subjectsOf, type Alert } from '../src/core/alerts.ts';
import type { Explanation } from '../src/core/stalls.ts';
import { send, startCollector, type RunningCollector } from './helpers.ts';
import { scrapeMetrics } from './scrape-metrics.ts';
import { emptyFlowWrite } from '../src/store/flow-store.ts';
import { forEachStore } from './stores.ts';

const nowMs = Date.now();
const waiting: Explanation = {
  kind: 'next-event', afterEventType: 'OrderCreated', afterService: 'order', awaitedEventTypes: ['PaymentAuthorized'], awaitedService: 'payment',
  consumerGroup: null, sinceMs: nowMs - 60_000, usual: { count: 100, p50Ms: 700, p90Ms: 780, p99Ms: 798, p999Ms: 800 }, learned: true, declared: false,
  lateAtMs: nowMs - 59_000, overdueMs: 59_000, handledWithoutSending: null, message: '…',
};
const failure: Explanation = { kind: 'failure', service: 'inventory', eventType: 'PaymentAuthorized', consumerGroup: 'inventory', sinceMs: nowMs - 1_000, message: '…' };

/** Two alerts from the core's lifecycle: one firing (two stalled flows), one that fired and resolved. */
function alerts(): { firing: Alert; resolved: Alert; stored: Alert[] } {
  const book = new AlertBook({ resolveAfterMs: 0 });
  book.observe(`${'a'.repeat(32)}-${'1'.repeat(16)}`, subjectsOf('stalled', waiting, [], 0), nowMs - 2_000);
  book.observe(`${'a'.repeat(32)}-${'2'.repeat(16)}`, subjectsOf('stalled', waiting, [], 0), nowMs - 2_000);
  book.observe(`${'b'.repeat(32)}-${'3'.repeat(16)}`, subjectsOf('failed', failure, [], 0), nowMs - 2_000);
  const fired = book.evaluate(nowMs - 2_000).alerts;
  book.observe(`${'b'.repeat(32)}-${'3'.repeat(16)}`, subjectsOf('completed', null, [], 0), nowMs - 1_000);
  const resolved = book.evaluate(nowMs - 1_000).alerts;
  return { firing: fired.find((a) => a.severity === 'critical')!, resolved: resolved[0]!, stored: [...fired, ...resolved] };
}

forEachStore((kind) => {
  let collector: RunningCollector;
  const { firing, resolved, stored } = alerts();
  before(async () => {
    collector = await startCollector(kind, { server: { flows: { assemble: false } } });
    // as the assembling collector's round stores them
    const session = (await collector.store.flows.openAssembly())!;
    await session.write({
      ...emptyFlowWrite(nowMs),
      alerts: stored, notifications: [], nowMs,
    });
    await session.release();
  });
  after(() => collector.close());

  const call = (path: string, init: RequestInit = {}) => send(`${collector.url}${path}`, init);
  const post = (path: string, body?: unknown) => call(path, body === undefined ? { method: 'POST' } : {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  const code = (answer: { json: unknown }) => (answer.json as ApiErrorBody | undefined)?.error?.code;

  test('firing alerts by default, resolved ones when asked, one alert with its history', async () => {
    const list = await call('/api/alerts');
    assert.equal(list.status, 200, list.text);
    assert.deepEqual((list.json as AlertsResponse).alerts.map((a) => [a.id, a.state, a.title, a.flowCount]),
      [[firing.id, 'firing', '2 flows waiting for PaymentAuthorized from payment', 2]]);
    const past = (await call('/api/alerts?state=resolved&limit=5')).json as AlertsResponse;
    assert.deepEqual(past.alerts.map((a) => [a.id, a.state, a.endsAtMs]), [[resolved.id, 'resolved', nowMs - 1_000]]);
    const one = await call(`/api/alerts/${firing.id}`);
    assert.equal(one.status, 200);
    const { alert, flows } = one.json as AlertDetailResponse;
    assert.deepEqual(alert.flowIds.length, 2);
    assert.deepEqual(flows, [], 'its flows are described as far as they are stored: here none is');
    assert.deepEqual([alert.subject, alert.acknowledged, alert.silencedUntilMs, alert.deliveries], ['waiting for PaymentAuthorized from payment', null, null, []]);
    assert.deepEqual(alert.history.map((h) => h.event), ['fired']);
  });

  test('acknowledge and silence: noted in the history, newest first, by whoever says so', async () => {
    const acked = await post(`/api/alerts/${firing.id}/ack`, { by: 'dana' });
    assert.equal(acked.status, 200, acked.text);
    assert.equal((acked.json as AlertResponse).alert.acknowledged?.by, 'dana');
    const anonymous = await post(`/api/alerts/${firing.id}/ack`);
    assert.equal(anonymous.status, 200, anonymous.text);
    const before = Date.now();
    const silenced = await post(`/api/alerts/${firing.id}/silence`, { forMs: 600_000, by: 'sam' });
    assert.equal(silenced.status, 200, silenced.text);
    const alert = (silenced.json as AlertResponse).alert;
    assert.ok(alert.silencedUntilMs! >= before + 600_000 && alert.silencedUntilMs! <= Date.now() + 600_000, String(alert.silencedUntilMs));
    assert.deepEqual(alert.history.map((h) => [h.event, h.by]), [['silenced', 'sam'], ['acknowledged', 'api'], ['acknowledged', 'dana'], ['fired', undefined]]);
    const lifted = await post(`/api/alerts/${firing.id}/silence`, { forMs: 0 });
    assert.ok((lifted.json as AlertResponse).alert.silencedUntilMs! <= Date.now(), 'forMs 0 lifts it');
    assert.equal((await post(`/api/alerts/${resolved.id}/ack`, { by: 'dana' })).status, 200, 'a resolved alert can be acknowledged too');
  });

  test('the firing alerts are counted in /metrics by severity', async () => {
    const series = await scrapeMetrics(collector.url);
    assert.deepEqual([series.get('choreoscope_alerts_firing{severity="critical"}'), series.get('choreoscope_alerts_firing{severity="warning"}')], [1, 0]);
  });

  test('bad input: each answered with its catalogue code', async () => {
    const cases: [Promise<{ status: number; json: unknown }>, number, string][] = [
      [call('/api/alerts?state=open'), 400, 'CHS_ERR_PARAMETER_INVALID'],
      [call('/api/alerts?limit=0'), 400, 'CHS_ERR_QUERY_LIMIT_INVALID'],
      [call('/api/alerts?severity=critical'), 400, 'CHS_ERR_QUERY_PARAMETER_UNKNOWN'],
      [call('/api/alerts/not-an-id'), 400, 'CHS_ERR_ALERT_ID_INVALID'],
      [call('/api/alerts/00000000-zz'), 404, 'CHS_ERR_ALERT_NOT_FOUND'],
      [post('/api/alerts/00000000-zz/ack'), 404, 'CHS_ERR_ALERT_NOT_FOUND'],
      [post('/api/alerts/<script>/silence'), 400, 'CHS_ERR_ALERT_ID_INVALID'],
      [post(`/api/alerts/${firing.id}/silence`, { forMs: -1 }), 400, 'CHS_ERR_PARAMETER_INVALID'],
      [post(`/api/alerts/${firing.id}/silence`, { forMs: 31 * 86_400_000 }), 400, 'CHS_ERR_PARAMETER_INVALID'],
      [post(`/api/alerts/${firing.id}/silence`, { forMs: 'an hour' }), 400, 'CHS_ERR_PARAMETER_INVALID'],
      [post(`/api/alerts/${firing.id}/ack`, { by: '' }), 400, 'CHS_ERR_PARAMETER_INVALID'],
      [post(`/api/alerts/${firing.id}/ack`, { who: 'dana' }), 400, 'CHS_ERR_REQUEST_INVALID'],
      [call(`/api/alerts/${firing.id}/ack`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"by":' }), 400, 'CHS_ERR_REQUEST_INVALID'],
      [call(`/api/alerts/${firing.id}/ack`), 404, 'CHS_ERR_ROUTE_NOT_FOUND'],
    ];
    for (const [answer, status, expected] of cases) {
      const { status: got, json } = await answer;
      assert.deepEqual([got, code({ json })], [status, expected], `${expected}: ${JSON.stringify(json)}`);
    }
  });
});
