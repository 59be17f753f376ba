/**
 * Delivery from the store's outbox to real receivers on loopback, on both stores: a receiver that never
 * answers owes alone while the others get everything; looks run as fast as they can be asked for send no
 * row twice; a silence holds webhook notifications back until it ends, then what is still worth saying goes
 * out, and an episode that began and ended within it is settled silenced; rows owed to a receiver no
 * longer configured are given up, with that reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@choreoscope/test-support';
import { AlertDelivery } from '../src/alerting/alert-delivery.ts';
import { receiverId, type Receiver } from '../src/alerting/alert-sender.ts';
import { AlertBook, subjectsOf, type Alert, type AlertNotification } from '../src/core/alerts.ts';
import type { Explanation } from '../src/core/stalls.ts';
import { emptyFlowWrite } from '../src/store/flow-store.ts';
import type { SqlSpanStore } from '../src/store/sql-span-store.ts';
import { loopbackReceiver as receiver } from './receivers.ts';
import { forEachStore } from './stores.ts';

const T0 = Date.UTC(2026, 11, 1, 12);

/** A receiver that takes requests and never answers. */
const hanging = () => receiver(() => {});

const stuckOn = (service: string, sinceMs: number): Explanation => ({
  kind: 'next-event', afterEventType: `${service}Requested`, afterService: 'order', awaitedEventTypes: ['PaymentAuthorized'], awaitedService: service,
  consumerGroup: null, sinceMs, usual: { count: 50, p50Ms: 1, p90Ms: 2, p99Ms: 3, p999Ms: 4 }, learned: true, declared: false, lateAtMs: sinceMs + 3, overdueMs: 0, handledWithoutSending: null, message: '…',
});

/** Writes alerts and the notifications they owe to `receivers`, as a flow worker's round does. */
async function owe(store: SqlSpanStore, alerts: Alert[], notifications: AlertNotification[], receivers: Receiver[]): Promise<void> {
  const session = (await store.flows.openAssembly())!;
  await session.write({ ...emptyFlowWrite(T0), alerts, notifications: notifications.map((notification) => ({ notification, receivers: receivers.map(receiverId) })) });
  await session.release();
}

/** `count` alerts firing, each stuck on a service of its own. */
function firing(count: number, book = new AlertBook({ resolveAfterMs: 0 })) {
  for (let i = 0; i < count; i += 1) book.observe(`flow-${i}`, subjectsOf('stalled', stuckOn(`payment-${i}`, T0), [], 0), T0);
  return { book, ...book.evaluate(T0 + 1) };
}

forEachStore((kind) => {
  test('a receiver that never answers owes alone: the other gets every notification, each once, however often the outbox is looked at', async () => {
    const { store, dispose } = await kind.open();
    const [dead, healthy] = [await hanging(), await receiver()];
    const receivers: Receiver[] = [{ kind: 'webhook', url: dead.url }, { kind: 'webhook', url: healthy.url }];
    const delivery = new AlertDelivery({ store: store.alerts, receivers, requestTimeoutMs: 60_000, pollIntervalMs: 50 });
    try {
      // more than one look's page: the dead receiver holds a whole page of its own in flight
      const { alerts, notifications } = firing(600);
      await owe(store, alerts, notifications, receivers);
      delivery.assembling(true);
      const asking = setInterval(() => delivery.owed(), 5); // looks as often as a busy worker's rounds ask for them
      try {
        await waitFor(() => healthy.bodies.length >= 600, 30_000, () => `${healthy.bodies.length} of 600 delivered`);
        await waitFor(async () => (await store.alerts.owedNotifications(2_000)).filter((row) => row.receiver === receiverId(receivers[1]!)).length === 0,
          10_000, () => 'all settled');
      } finally {
        clearInterval(asking);
      }
      assert.equal(new Set(healthy.ids()).size, 600, 'each notification once');
      assert.equal(healthy.bodies.length, 600, 'none twice');
      assert.equal(dead.bodies.length, 1, 'the dead receiver had one request under way, and waits on it');
      const owedToDead = await store.alerts.owedNotifications(2_000);
      assert.equal(owedToDead.length, 600, 'what the dead receiver did not take stays owed');
    } finally {
      await delivery.close();
      await Promise.all([dead.close(), healthy.close()]);
      await dispose();
    }
  });

  test('a silence holds the webhook back until it ends; an episode that began and ended within it is settled silenced; Alertmanager hears all', async () => {
    const { store, dispose } = await kind.open();
    const [webhook, alertmanager] = [await receiver(), await receiver()];
    const receivers: Receiver[] = [{ kind: 'webhook', url: webhook.url }, { kind: 'alertmanager', url: alertmanager.url }];
    let clock = T0 + 10;
    const delivery = new AlertDelivery({ store: store.alerts, receivers, now: () => clock, pollIntervalMs: 60_000 });
    try {
      // two alerts fire; both are silenced for an hour before anything is delivered
      const { book, alerts, notifications } = firing(2);
      await owe(store, alerts, notifications, receivers);
      const [still, over] = alerts.map((alert) => alert.id);
      for (const id of [still!, over!]) await store.alerts.silenceAlert(id, T0 + 3_600_000, 'dana', T0 + 5);
      delivery.assembling(true);
      await waitFor(() => alertmanager.bodies.length === 2, 10_000, () => 'Alertmanager told of both');
      // the second's flow moves on within the silence: it resolves
      book.observe('flow-1', subjectsOf('completed', null, [], 0), T0 + 60_000);
      const resolved = book.evaluate(T0 + 60_000);
      await owe(store, resolved.alerts, resolved.notifications, receivers);
      clock = T0 + 60_001;
      delivery.owed();
      await waitFor(() => alertmanager.bodies.length === 3, 10_000, () => 'Alertmanager told of the resolution');
      assert.equal(webhook.bodies.length, 0, 'held back while silenced');
      const held = (await store.alerts.owedNotifications(10)).filter((row) => row.receiver === receiverId(receivers[0]!));
      assert.deepEqual(held.map((row) => row.notification.kind).sort(), ['firing', 'firing', 'resolved'], 'held, still owed');

      // the silence ends: the alert still firing is told; the one that came and went within it is not
      clock = T0 + 3_600_001;
      delivery.owed();
      await waitFor(async () => (await store.alerts.owedNotifications(10)).length === 0, 10_000, () => 'all settled');
      assert.deepEqual(webhook.ids(), [`${still}:firing`]);
      const outcomes = async (id: string) => (await store.alerts.alert(id))!.deliveries
        .filter((d) => d.receiver === receiverId(receivers[0]!)).map((d) => [d.kind, d.outcome]);
      assert.deepEqual(await outcomes(still!), [['firing', 'delivered']]);
      assert.deepEqual(await outcomes(over!), [['firing', 'silenced'], ['resolved', 'silenced']]);
    } finally {
      await delivery.close();
      await Promise.all([webhook.close(), alertmanager.close()]);
      await dispose();
    }
  });

  test('notifications owed to a receiver no longer configured are given up, saying so; the configured one gets its own', async () => {
    const { store, dispose } = await kind.open();
    const [gone, kept] = [await receiver(), await receiver()];
    const before: Receiver[] = [{ kind: 'webhook', url: gone.url }, { kind: 'slack', url: kept.url }];
    const delivery = new AlertDelivery({ store: store.alerts, receivers: [before[1]!] });
    try {
      const { alerts, notifications } = firing(1);
      await owe(store, alerts, notifications, before);
      delivery.assembling(true);
      await waitFor(async () => (await store.alerts.owedNotifications(10)).length === 0, 10_000, () => 'all settled');
      const outcomes = (await store.alerts.alert(alerts[0]!.id))!.deliveries.map((d) => [d.receiver, d.outcome]);
      assert.deepEqual(outcomes, [[receiverId(before[0]!), 'given up: the receiver is no longer configured'], [receiverId(before[1]!), 'delivered']]);
      assert.equal(gone.bodies.length, 0);
      assert.equal(kept.bodies.length, 1);
    } finally {
      await delivery.close();
      await Promise.all([gone.close(), kept.close()]);
      await dispose();
    }
  });
});
