/**
 * Alerts end to end through the flow worker, the store and delivery, on both stores: stalled flows make
 * one alert, stored with the notifications it owes in the round that judged them; delivery sends each to
 * real receivers on loopback (webhook JSON and Alertmanager's API) and settles it; a worker started afresh
 * on the same store (a restart) goes on with the firing alert, firing nothing twice; the flows moving on
 * resolve it, once. A notification stored but not delivered before a stop is delivered by the next
 * collector; a silenced alert holds its webhook notification back until the silence ends, and tells Alertmanager.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@choreoscope/test-support';
import { AlertDelivery } from '../src/alerting/alert-delivery.ts';
import type { SpanRecord } from '../src/core/span.ts';
import type { AlertmanagerAlert, WebhookBody } from '../src/alerting/formats.ts';
import { FlowWorker, type FlowWorkerOptions } from '../src/flows/flow-worker.ts';
import { fixtureRecords, readFlowFixtures } from './flow-fixtures.ts';
import { loopbackReceiver as receiver } from './receivers.ts';
import { forEachStore, type TestStore } from './stores.ts';

const chain = readFlowFixtures().find((fixture) => fixture.name === 'clean-chain-parent')!;
const epochMs = Math.min(...fixtureRecords(chain, 'epoch:').map((r) => r.startTimeMs));

/** The same spans, `byMs` later. */
const later = (records: SpanRecord[], byMs: number): SpanRecord[] => records.map((r) => ({
  ...r, startTimeMs: r.startTimeMs + byMs, endTimeMs: r.endTimeMs + byMs, events: r.events.map((e) => ({ ...e, timeMs: e.timeMs + byMs })),
}));

forEachStore((kind) => {
  /**
   * 25 whole chains, long before the test's orders: the worker learns the choreography from them as they
   * settle, so the orders' steps are trusted (OrderCreated is followed by PaymentAuthorized from payment).
   */
  async function learn(store: TestStore['store'], options: FlowWorkerOptions, atMs: number): Promise<void> {
    let clock = atMs;
    const worker = new FlowWorker(store.flows, { ...options, now: () => clock, settleAfterMs: 60_000, saveModelEveryMs: 0 });
    const session = (await store.flows.openAssembly())!;
    for (let i = 0; i < 25; i += 1) await store.writeSpans(fixtureRecords(chain, `${kind.name}:learn:${i}:${Math.random()}:`));
    await worker.round(session);
    clock += 300;
    await worker.round(session, true);
    await session.release();
    assert.equal((await store.alerts.listAlerts('firing', 10)).length, 0, 'learning fires nothing');
  }

  /** Three orders: each sent OrderCreated, payment handled it, and nothing followed; the spans that would have. */
  function orders(run: string) {
    const all = [0, 1, 2].map((i) => new Map(later(fixtureRecords(chain, `${kind.name}:${run}:${i}:${Math.random()}:`), 3_600_000).map((r) => [r.name, r])));
    const head = ['order.http', 'order.send', 'payment.process'];
    return {
      sentMs: Math.max(...all.map((spans) => spans.get('order.send')!.endTimeMs)),
      heads: all.flatMap((spans) => head.map((name) => spans.get(name)!)),
      rests: all.flatMap((spans) => [...spans.values()].filter((span) => !head.includes(span.name))),
    };
  }

  test('stalled flows fire one alert, delivered once to each receiver; a restart fires nothing twice; moving on resolves it', async () => {
    const { store, dispose } = await kind.open();
    const [webhook, alertmanager] = [await receiver(), await receiver()];
    const deliveries: AlertDelivery[] = [];
    const delivery = () => {
      const made = new AlertDelivery({
        store: store.alerts, receivers: [{ kind: 'webhook', url: webhook.url }, { kind: 'alertmanager', url: `${alertmanager.url}api/v2/alerts` }],
        publicUrl: 'https://choreoscope.example', resendEveryMs: 3_600_000,
      });
      deliveries.push(made);
      return made;
    };
    try {
      const { sentMs, heads, rests } = orders('stall');
      let clock = sentMs + 1;
      const options = (notifier: AlertDelivery): FlowWorkerOptions => ({ now: () => clock, exportDelayMs: 0, alerts: { resolveAfterMs: 1_000 }, notifier });
      await learn(store, { exportDelayMs: 0 }, epochMs + 600_000);
      const first = delivery();
      const worker = new FlowWorker(store.flows, options(first));
      let session = (await store.flows.openAssembly())!;
      first.assembling(true);
      await store.writeSpans(heads);
      await worker.round(session);
      assert.deepEqual(await store.alerts.listAlerts('firing', 10), [], 'running: nothing fires');

      clock = sentMs + 10_000; // far past the learned step's p99.9 (milliseconds): stalled, described again at their deadline
      await worker.round(session);
      const [alert, ...others] = await store.alerts.listAlerts('firing', 10);
      assert.equal(others.length, 0, 'one alert for the three flows');
      assert.equal(alert!.title, '3 flows waiting for PaymentAuthorized from payment');
      assert.equal(alert!.flowCount, 3);
      assert.equal(alert!.severity, 'critical');
      await waitFor(() => webhook.bodies.length === 1 && alertmanager.bodies.length === 1, 10_000, () => 'delivered to both');
      const fired = webhook.bodies[0] as WebhookBody;
      assert.deepEqual([fired.kind, fired.alert.id, fired.id], ['firing', alert!.id, `${alert!.id}:firing`]);
      assert.equal(fired.links!.flows.length, 3);
      const [amFiring] = alertmanager.bodies[0] as AlertmanagerAlert[];
      assert.equal(amFiring!.labels.alertname, 'ChoreoscopeFlowsStalled');
      await waitFor(async () => (await store.alerts.alert(alert!.id))!.deliveries.every((d) => d.outcome === 'delivered'), 5_000, () => 'settled in the store');
      assert.equal((await store.alerts.owedNotifications(10)).length, 0);

      // a restart: a new worker and delivery on the same store go on with the alert
      await first.close();
      await session.release();
      const second = delivery();
      const restarted = new FlowWorker(store.flows, options(second));
      session = (await store.flows.openAssembly())!;
      second.assembling(true);
      clock += 5_000;
      await restarted.round(session);
      const [goingOn] = await store.alerts.listAlerts('firing', 10);
      assert.deepEqual([goingOn!.id, goingOn!.flowCount], [alert!.id, 3], 'the same episode, its flows found again');

      // the rest of each chain arrives: the flows complete, the alert resolves after its quiet time
      await store.writeSpans(rests);
      await restarted.round(session);
      clock += 300; // the flows described again (at most every 250 ms): completed, they leave the alert
      await restarted.round(session);
      const [quiet] = await store.alerts.listAlerts('firing', 10);
      assert.deepEqual([quiet?.flowCount, quiet?.quietSinceMs !== null], [0, true], 'quiet, not resolved yet');
      clock += 1_000;
      await restarted.round(session);
      assert.deepEqual(await store.alerts.listAlerts('firing', 10), []);
      const [resolved] = await store.alerts.listAlerts('resolved', 10);
      assert.equal(resolved!.id, alert!.id);
      assert.deepEqual(resolved!.history.map((event) => event.event), ['resolved', 'fired']);
      await waitFor(() => webhook.bodies.length === 2 && alertmanager.bodies.length === 2, 10_000, () => 'the resolution delivered');
      assert.deepEqual(webhook.bodies.map((body) => (body as WebhookBody).kind), ['firing', 'resolved'], 'each once, across the restart');
      const [amResolved] = alertmanager.bodies[1] as AlertmanagerAlert[];
      assert.ok(amResolved!.endsAt !== undefined, 'Alertmanager is told it ended');
      await session.release();
    } finally {
      for (const made of deliveries) await made.close();
      await Promise.all([webhook.close(), alertmanager.close()]);
      await dispose();
    }
  });

  test('a duplicate delivery and a consumer group gone quiet make alerts of their own (a group renamed has not gone), and the group coming back resolves its alert', async () => {
    const { store, dispose } = await kind.open();
    try {
      let clock = epochMs + 60_000;
      const worker = new FlowWorker(store.flows, { now: () => clock, exportDelayMs: 0, alerts: { resolveAfterMs: 1_000 }, drift: { quietAfterMs: 600_000, minProduced: 20 } });
      const session = (await store.flows.openAssembly())!;
      const duplicate = readFlowFixtures().find((fixture) => fixture.name === 'duplicate-delivery')!;
      await store.writeSpans(fixtureRecords(duplicate, `${kind.name}:dup:${Math.random()}:`));
      await worker.round(session);
      const firing = async () => (await store.alerts.listAlerts('firing', 10)).map((a) => [a.key, a.severity, a.title]);
      assert.deepEqual(await firing(), [['duplicate|inventory|inventory|PaymentAuthorized', 'warning',
        '1 flow with PaymentAuthorized processed more than once by inventory (group inventory): its handler must be idempotent']]);

      // 25 orders handled by notification; 15 minutes later 25 more, handled by the same group under a new
      // service name; 15 minutes later 25 more it never handled; all on the same topics (the fixture
      // namespaces them), each order's messages at offsets of their own
      let order = 0;
      const onSharedTopics = (records: SpanRecord[]) => {
        order += 1;
        return records.map((r) => {
          const topic = r.attributes['messaging.destination.name'];
          const offset = r.attributes['messaging.kafka.offset'];
          if (typeof topic !== 'string' || typeof offset !== 'number') return r;
          return { ...r, attributes: { ...r.attributes, 'messaging.destination.name': topic.split(':').at(-1)!, 'messaging.kafka.offset': offset + order * 1_000 } };
        });
      };
      const renamed = (records: SpanRecord[]) => records.map((r) => (r.serviceName === 'notification' ? { ...r, serviceName: 'notifier' } : r));
      for (let i = 0; i < 25; i += 1) await store.writeSpans(onSharedTopics(fixtureRecords(chain, `${kind.name}:drift:${i}:${Math.random()}:`)));
      for (let i = 0; i < 25; i += 1) await store.writeSpans(onSharedTopics(renamed(later(fixtureRecords(chain, `${kind.name}:renamed:${i}:${Math.random()}:`), 900_000))));
      clock = epochMs + 960_000;
      await worker.round(session);
      clock += 30_000; // the next look at consumer groups
      await worker.round(session);
      const driftAlerts = async () => (await store.alerts.listAlerts('firing', 10)).filter((a) => a.key.startsWith('drift|'));
      assert.deepEqual(await driftAlerts(), [], 'a group handling its events under a new service name has not gone');

      for (let i = 0; i < 25; i += 1) {
        const records = later(fixtureRecords(chain, `${kind.name}:gone:${i}:${Math.random()}:`), 1_800_000).filter((r) => r.name !== 'notification.process');
        await store.writeSpans(onSharedTopics(records));
      }
      clock = epochMs + 1_860_000;
      await worker.round(session);
      clock += 30_000;
      await worker.round(session);
      const [drift] = await driftAlerts();
      assert.deepEqual([drift?.key, drift?.title, drift?.flowCount], ['drift|ShipmentScheduled|notification', 'notifier (group notification) stopped handling ShipmentScheduled', 0]);

      // it handles one again: not quiet any more, resolved after the quiet time
      await store.writeSpans(onSharedTopics(later(fixtureRecords(chain, `${kind.name}:back:${Math.random()}:`), 1_890_000)));
      await worker.round(session);
      clock += 30_000;
      await worker.round(session);
      clock += 1_000;
      await worker.round(session);
      assert.ok((await store.alerts.listAlerts('resolved', 10)).some((a) => a.key === drift!.key), 'resolved once the group handles its event again');
      await session.release();
    } finally {
      await dispose();
    }
  });

  test('owed notifications survive a stop before delivery; a silenced alert holds its webhook back until the silence ends, not Alertmanager', async () => {
    const { store, dispose } = await kind.open();
    const [webhook, alertmanager] = [await receiver(), await receiver()];
    const receivers = [{ kind: 'webhook' as const, url: webhook.url }, { kind: 'alertmanager' as const, url: alertmanager.url }];
    const deliveries: AlertDelivery[] = [];
    try {
      const { sentMs, heads, rests } = orders('owed');
      let clock = sentMs + 10_000;
      await learn(store, { exportDelayMs: 0 }, epochMs + 600_000);
      // the round stores the alert and what it owes; the collector stops before delivering any of it
      const silent = new AlertDelivery({ store: store.alerts, receivers });
      const worker = new FlowWorker(store.flows, { now: () => clock, exportDelayMs: 0, alerts: { resolveAfterMs: 0 }, notifier: silent });
      const session = (await store.flows.openAssembly())!;
      await store.writeSpans(heads);
      await worker.round(session);
      await worker.round(session); // judged at their deadline
      const owed = await store.alerts.owedNotifications(10);
      assert.deepEqual(owed.map((row) => [row.notification.kind, row.receiver.split(':')[0]]), [['firing', 'webhook'], ['firing', 'alertmanager']]);
      assert.ok(owed.every((row) => !row.receiver.includes('127.0.0.1')), 'receivers are named by a digest, never by their address');

      // the next collector delivers them
      const next = new AlertDelivery({ store: store.alerts, receivers });
      deliveries.push(next);
      next.assembling(true);
      await waitFor(() => webhook.bodies.length === 1 && alertmanager.bodies.length === 1, 10_000, () => 'delivered after the restart');
      const [alert] = await store.alerts.listAlerts('firing', 1);

      // silenced: its resolution reaches Alertmanager; the webhook's waits for the silence to end
      const silenced = await store.alerts.silenceAlert(alert!.id, Date.now() + 3_600_000, 'dana', Date.now());
      assert.deepEqual(silenced!.notes.map((note) => [note.event, note.by]), [['silenced', 'dana']]);
      await store.writeSpans(rests);
      clock += 300;
      await worker.round(session);
      clock += 300;
      await worker.round(session);
      assert.equal((await store.alerts.listAlerts('resolved', 1))[0]?.id, alert!.id);
      next.owed();
      await waitFor(() => alertmanager.bodies.length === 2, 10_000, () => 'Alertmanager told');
      await waitFor(async () => (await store.alerts.owedNotifications(10)).length === 1, 10_000, () => 'Alertmanager\'s settled');
      assert.equal(webhook.bodies.length, 1, 'the webhook heard nothing more while silenced');
      const outcomes = async () => (await store.alerts.alert(alert!.id))!.deliveries.map((d) => [d.kind, d.receiver.split(':')[0], d.outcome]);
      assert.deepEqual(await outcomes(), [
        ['firing', 'webhook', 'delivered'], ['firing', 'alertmanager', 'delivered'], ['resolved', 'webhook', null], ['resolved', 'alertmanager', 'delivered'],
      ]);

      // the silence lifted: the webhook, told it fired, is told it resolved
      await store.alerts.silenceAlert(alert!.id, Date.now(), 'dana', Date.now());
      next.owed();
      await waitFor(() => webhook.bodies.length === 2, 10_000, () => 'the webhook told once the silence ended');
      assert.equal((webhook.bodies[1] as WebhookBody).kind, 'resolved');
      await waitFor(async () => (await store.alerts.owedNotifications(10)).length === 0, 10_000, () => 'all settled');
      assert.equal((await outcomes())[2]![2], 'delivered');
      await session.release();
    } finally {
      for (const made of deliveries) await made.close();
      await Promise.all([webhook.close(), alertmanager.close()]);
      await dispose();
    }
  });
});
