/**
 * Where consumer groups have got in their partitions (core/partition-progress.ts), and the stall it
 * proves, pure, on a fake clock: a group that reads in order and handled a later message of a partition
 * went past the one a flow waits for, so the flow is stalled as soon as that handling could have been
 * reported, long before any deadline; a group that handles messages side by side proves nothing, and its
 * flows wait out their deadlines. Offsets as the official kafkajs instrumentation sends them (strings)
 * and as ours does (numbers), and past 2^53.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { toFlowSpan } from '../src/core/flow-span.ts';
import { flowProgress, type FlowProgress } from '../src/core/flow-progress.ts';
import { ChoreographyModel } from '../src/core/model.ts';
import { PartitionProgress, compareOffsets, placeOf } from '../src/core/partition-progress.ts';
import { judgeFlow } from '../src/core/stalls.ts';
import { fixtureRecords, readFlowFixtures } from './flow-fixtures.ts';

const T0 = Date.UTC(2026, 11, 1, 12, 3, 4);

/** `count` handlings of an `orders` partition (2 unless said) by `group`, each begun `gapMs` after the last began and taking `handlingMs`. */
function reads(
  progress: PartitionProgress, group: string, count: number,
  options: { from?: number; gapMs?: number; handlingMs?: number; atMs?: number; partition?: number } = {},
): void {
  const { from = 0, gapMs = 10, handlingMs = 5, atMs = T0 - 600_000, partition = 2 } = options;
  for (let i = 0; i < count; i += 1) progress.observe(group, `orders/${partition}/${from + i}`, atMs + i * gapMs, atMs + i * gapMs + handlingMs);
}

describe('partition progress', () => {
  test('offsets compare as numbers of any size; a coordinate splits into its partition and offset, a slash in the topic kept', () => {
    assert.ok(compareOffsets('9', '10') < 0);
    assert.ok(compareOffsets('9007199254740993', '9007199254740992') > 0, 'past 2^53, where a float would call them equal');
    assert.equal(compareOffsets('42', '42'), 0);
    assert.deepEqual(placeOf('shop/orders/3/17'), { partition: 'shop/orders/3', offset: '17' });
    assert.equal(placeOf('orders/17'), null);
    assert.equal(placeOf('orders/3/x'), null);
  });

  const O = 'orders/2/0'; // a message of the topic the groups below read

  test('a group seen reading a topic in order is sequential; one whose later offsets begin before earlier ones end is not; too few seen is not yet', () => {
    const progress = new PartitionProgress({ sequentialMinSamples: 100 });
    reads(progress, 'payments', 50);
    assert.equal(progress.sequential('payments', O), false, 'not enough seen yet');
    reads(progress, 'payments', 100, { from: 50, atMs: T0 - 300_000 });
    assert.equal(progress.sequential('payments', O), true);
    assert.deepEqual(progress.orderOf('payments', 'orders'), { compared: 149, overlapping: 0 });
    // however long it read in order, a group that starts handling side by side stops counting as in order within a few
    reads(progress, 'payments', 100_000, { from: 150, atMs: T0 - 2_000_000 });
    assert.equal(progress.sequential('payments', O), true);
    reads(progress, 'payments', 3, { from: 100_150, atMs: T0, handlingMs: 50 });
    assert.equal(progress.sequential('payments', O), false, JSON.stringify(progress.orderOf('payments', 'orders')));
    // shipping handles a batch's messages side by side: each begins before the one before it ended
    reads(progress, 'shipping', 200, { gapMs: 10, handlingMs: 50 });
    assert.equal(progress.sequential('shipping', O), false);
    // timed in whole milliseconds, a handling of microseconds "ends" after the next began in the same millisecond: no overlap
    const quick = new PartitionProgress({ sequentialMinSamples: 10 });
    for (let i = 0; i < 20; i += 1) quick.observe('notification', `orders/2/${i}`, T0 + Math.floor(i / 2), T0 + Math.floor(i / 2) + 0.05);
    assert.equal(quick.sequential('notification', O), true);
    // handlings arriving in any order are compared all the same: the reverse of an in-order reading is in order
    const reversed = new PartitionProgress({ sequentialMinSamples: 10 });
    for (let i = 20; i >= 0; i -= 1) reversed.observe('inventory', `orders/2/${i}`, T0 + i * 10, T0 + i * 10 + 5);
    assert.equal(reversed.sequential('inventory', O), true);
  });

  test('per topic: one group id serving a listener in order and one side by side (as Spring gives every listener of a service) is judged per topic', () => {
    const progress = new PartitionProgress({ sequentialMinSamples: 100 });
    reads(progress, 'app', 1_000); // orders, in order
    for (let i = 0; i < 150; i += 1) progress.observe('app', `audit/0/${i}`, T0 + i * 10, T0 + i * 10 + 50); // audit, side by side
    assert.equal(progress.sequential('app', 'orders/2/5'), true);
    assert.equal(progress.sequential('app', 'audit/0/5'), false);
  });

  test('a redelivery (after a rebalance, a rewind) is no overlap, and what was kept past it is not compared with what follows', () => {
    const progress = new PartitionProgress({ sequentialMinSamples: 100 });
    reads(progress, 'payments', 150, { atMs: T0 });
    // a rebalance: the new owner handles 140–149 again, after the old one had
    reads(progress, 'payments', 10, { from: 140, atMs: T0 + 10_000 });
    reads(progress, 'payments', 10, { from: 150, atMs: T0 + 10_100 });
    // 149 compared before; after the rewind to 140, 141–159 are compared again, with none kept past them
    assert.deepEqual(progress.orderOf('payments', 'orders'), { compared: 168, overlapping: 0 });
    assert.equal(progress.sequential('payments', O), true);
  });

  test('the earliest later handling begun since the message was sent; none before it, none of another group or partition', () => {
    const progress = new PartitionProgress();
    progress.observe('payments', 'orders/2/7', T0 + 100, T0 + 110);
    progress.observe('payments', 'orders/2/9', T0 + 300, T0 + 310);
    progress.observe('payments', 'orders/2/8', T0 + 200, T0 + 210);
    assert.deepEqual(progress.laterHandling('payments', 'orders/2/6', T0), { offset: '7', startMs: T0 + 100 });
    assert.deepEqual(progress.laterHandling('payments', 'orders/2/7', T0), { offset: '8', startMs: T0 + 200 });
    assert.equal(progress.laterHandling('payments', 'orders/2/9', T0), null, 'nothing after the last');
    assert.equal(progress.laterHandling('payments', 'orders/2/6', T0 + 250)?.offset, '9', 'a later offset handled before the message was sent proves nothing (clocks apart, a recreated topic)');
    assert.equal(progress.laterHandling('analytics', 'orders/2/6', T0), null);
    assert.equal(progress.laterHandling('payments', 'orders/1/6', T0), null);
  });

  test('a waiting flow is woken by a later handling of its partition begun since its message was sent, not by its own message nor an earlier one; each once', () => {
    const progress = new PartitionProgress();
    for (const partition of [2, 3]) progress.observe('payments', `orders/${partition}/0`, T0 - 1_000, T0 - 990); // partitions it reads
    progress.await('flow-a', 'payments', 'orders/2/10', T0);
    progress.await('flow-b', 'payments', 'orders/2/12', T0);
    progress.await('flow-c', 'payments', 'orders/3/10', T0);
    progress.await('flow-d', 'payments', 'orders/4/10', T0); // a partition it was never seen reading: not waited on
    progress.observe('payments', 'orders/2/9', T0, T0 + 5);
    assert.deepEqual(progress.takeWoken(), []);
    progress.observe('payments', 'orders/2/10', T0 + 10, T0 + 15); // flow-a's own: it waits no more
    progress.observe('payments', 'orders/2/11', T0 + 20, T0 + 25);
    assert.deepEqual(progress.takeWoken(), []);
    progress.observe('payments', 'orders/2/13', T0 + 30, T0 + 35);
    assert.deepEqual(progress.takeWoken(), ['flow-b']);
    progress.observe('payments', 'orders/2/14', T0 + 40, T0 + 45);
    assert.deepEqual(progress.takeWoken(), [], 'woken once');
    // by the clocks a later handling began before the message was sent (hosts apart): it waits on
    progress.await('flow-e', 'payments', 'orders/3/20', T0 + 5_000);
    progress.observe('payments', 'orders/3/21', T0 + 4_000, T0 + 4_010);
    assert.deepEqual(progress.takeWoken(), ['flow-c'], 'flow-c, whose message was sent at T0, is passed; flow-e is not yet');
    progress.observe('payments', 'orders/3/22', T0 + 6_000, T0 + 6_010);
    assert.deepEqual(progress.takeWoken(), ['flow-e']);
    // one flow waiting on two messages of a partition: both kept
    progress.await('flow-f', 'payments', 'orders/2/30', T0);
    progress.await('flow-f', 'payments', 'orders/2/40', T0);
    progress.observe('payments', 'orders/2/30', T0 + 50, T0 + 55);
    progress.observe('payments', 'orders/2/41', T0 + 60, T0 + 65);
    assert.deepEqual(progress.takeWoken(), ['flow-f']);
  });

  test('a busy partition: the first handling past a waited-on message is remembered, though the handlings kept turn over', () => {
    const progress = new PartitionProgress({ keptPerPartition: 4 });
    progress.observe('payments', 'orders/2/99', T0 - 10, T0 - 5);
    progress.await('flow-a', 'payments', 'orders/2/100', T0);
    reads(progress, 'payments', 50, { from: 101, atMs: T0 + 10 }); // 101 begun at T0 + 10, and 49 more
    assert.deepEqual(progress.takeWoken(), ['flow-a']);
    assert.deepEqual(progress.laterHandling('payments', 'orders/2/100', T0), { offset: '101', startMs: T0 + 10 }, 'not the earliest of the four kept');
  });

  test('bounded: the latest handlings of a partition, the partitions least recently seen go first, waiting flows capped', () => {
    const progress = new PartitionProgress({ keptPerPartition: 4, maxPartitions: 3, maxWaitingPerPartition: 2 });
    reads(progress, 'payments', 10, { atMs: T0 });
    // offsets 6–9 kept: a message before them was gone past by offset 6 at the earliest kept
    assert.deepEqual(progress.laterHandling('payments', 'orders/2/0', T0), { offset: '6', startMs: T0 + 60 });
    for (const topic of ['a', 'b', 'c']) progress.observe('payments', `${topic}/0/1`, T0, T0 + 1);
    assert.equal(progress.partitions, 3);
    assert.equal(progress.laterHandling('payments', 'orders/2/0', T0), null, 'the least recently seen partition went');
    for (const flow of ['x', 'y', 'z']) progress.await(flow, 'payments', 'c/0/5', T0);
    progress.observe('payments', 'c/0/9', T0 + 10, T0 + 11);
    assert.deepEqual(progress.takeWoken().sort(), ['x', 'y'], 'past the cap a flow is judged by time alone');
  });

  test('the spans of others: the official kafkajs instrumentation\'s per-message spans (offsets as strings) and old semantic conventions', () => {
    for (const name of ['official-each-batch', 'legacy-semconv-chain']) {
      const fixture = readFlowFixtures().find((f) => f.name === name)!;
      const consumers = fixtureRecords(fixture, 'x:').map(toFlowSpan).filter((span) => span.role === 'consumer' && span.message !== null);
      assert.ok(consumers.length > 0, name);
      const progress = new PartitionProgress();
      for (const span of consumers) progress.observe(span.consumerGroup ?? span.serviceName, span.message!, span.startMs, span.endMs);
      const first = consumers[0]!;
      const place = placeOf(first.message!)!;
      const later = consumers.filter((span) => placeOf(span.message!)!.partition === place.partition && compareOffsets(placeOf(span.message!)!.offset, place.offset) > 0);
      if (later.length === 0) continue;
      const before = `${place.partition}/${Number(place.offset) - 1}`;
      assert.ok(progress.laterHandling(first.consumerGroup ?? first.serviceName, before, 0) !== null, `${name}: a later handling of ${before}`);
    }
    // the official instrumentation's producer spans carry no offset: an event's message is read off a span that handled it
    const official = fixtureRecords(readFlowFixtures().find((f) => f.name === 'official-each-batch')!, 'x:').map(toFlowSpan);
    assert.ok(official.filter((span) => span.role === 'producer').every((span) => span.message === null));
    assert.match(flowProgress(official).events[0]!.message ?? '', /^x:orders\/0\/\d+$/);
  });

  test('an event sent as two messages names neither: which one a group should have read is not known', () => {
    const twice = fixtureRecords(readFlowFixtures().find((f) => f.name === 'batch-links')!, 'x:').map(toFlowSpan);
    assert.equal(new Set(twice.filter((span) => span.role === 'producer').map((span) => span.message)).size, 2);
    assert.equal(flowProgress(twice).events[0]!.message, null);
  });
});

describe('a message passed over', () => {
  /** OrderCreated → payments → PaymentAuthorized, learned from 2,000 flows: payments answers within about 100 ms. */
  function trained(): ChoreographyModel {
    const model = new ChoreographyModel();
    for (let i = 0; i < 2_000; i += 1) {
      const at = T0 - 600_000 + i * 100;
      model.learn({
        events: [{ eventType: 'OrderCreated', service: 'order', atMs: at }, { eventType: 'PaymentAuthorized', service: 'payment', atMs: at + 80 + (i % 20) }],
        consumptions: [{ eventType: 'OrderCreated', group: 'payments', service: 'payment', atMs: at + 20, succeeded: true, handlingMs: 60, endedAtMs: at + 80 + (i % 20) }],
        transitions: [{ from: 'OrderCreated', to: 'PaymentAuthorized', latencyMs: 80 + (i % 20) }],
        failure: null, lastActivityMs: at + 100,
      }, T0);
    }
    return model;
  }
  const model = trained();
  /** OrderCreated sent at T0 as offset 500 of orders partition 2; payments has not reported handling it. */
  const waiting = (): FlowProgress => ({
    events: [{ eventType: 'OrderCreated', service: 'order', atMs: T0, message: 'orders/2/500' }], consumptions: [], transitions: [], failure: null, lastActivityMs: T0,
  });
  const delay = { observationDelayMs: 2_000 };

  test('a group that reads in order went past it: stalled once that handling could be reported, long before the deadline, saying so', () => {
    const { due } = model.expectationsAfter('OrderCreated', T0).consumers[0]!;
    const timeAlone = judgeFlow(waiting(), model.view(T0 + 500, new PartitionProgress()), delay);
    assert.equal(timeAlone.state, 'running');
    assert.ok(timeAlone.nextCheckMs! >= T0 + 2_000 + due!.p99Ms!, 'by time alone, late only past its learned tail');

    // payments, seen reading in order (partition 1, an hour ago), handles offsets 480–499 of partition 2, then nothing of 500
    const partitions = new PartitionProgress({ sequentialMinSamples: 1_000 });
    reads(partitions, 'payments', 1_100, { atMs: T0 - 3_600_000, partition: 1 });
    reads(partitions, 'payments', 20, { from: 480, gapMs: 20, atMs: T0 - 500 });
    const before = judgeFlow(waiting(), model.view(T0 + 30, partitions), delay);
    assert.equal(before.state, 'running');
    assert.deepEqual(before.awaiting, [{ group: 'payments', message: 'orders/2/500', sentAtMs: T0 }], 'it waits on the partition');

    // then it handles 501 at T0 + 40
    partitions.observe('payments', 'orders/2/501', T0 + 40, T0 + 45);
    const reported = T0 + 40 + delay.observationDelayMs;
    const soon = judgeFlow(waiting(), model.view(reported - 1, partitions), delay);
    assert.equal(soon.state, 'running', 'the handling of 500 may still be on its way');
    assert.equal(soon.nextCheckMs, reported);
    assert.equal(soon.awaiting, undefined, 'nothing more to wait for on the partition');
    const verdict = judgeFlow(waiting(), model.view(reported, partitions), delay);
    assert.equal(verdict.state, 'stalled');
    const explanation = verdict.explanation!;
    assert.equal(explanation.kind, 'consumer');
    if (explanation.kind !== 'consumer') return;
    assert.deepEqual(explanation.passedOver, { consumerGroup: 'payments', topic: 'orders', partition: '2', offset: '500', laterOffset: '501', laterAtMs: T0 + 40 });
    assert.equal(explanation.message, 'waiting for OrderCreated to be handled by payment (group payments) since 2026-12-01T12:03:04.000Z: the group went past it, ' +
      'handling a later message of orders partition 2 (offset 501, at 2026-12-01T12:03:04.040Z) but not this one (offset 500)');
    // its handling arrives after all: running
    const handled = { ...waiting(), consumptions: [{ eventType: 'OrderCreated', group: 'payments', service: 'payment', atMs: T0 + 20, succeeded: true, endedAtMs: T0 + 60 }] };
    assert.equal(judgeFlow(handled, model.view(reported, partitions), delay).state, 'running');
  });

  test('on a busy partition the evidence holds: judged again after the export delay, the flow is stalled at the first later handling, not chasing the latest', () => {
    const partitions = new PartitionProgress({ sequentialMinSamples: 1_000 });
    reads(partitions, 'payments', 1_100, { atMs: T0 - 3_600_000, partition: 1 });
    reads(partitions, 'payments', 20, { from: 480, gapMs: 20, atMs: T0 - 500 });
    const exportDelay = { observationDelayMs: 10_000 };
    const first = judgeFlow(waiting(), model.view(T0 + 30, partitions), exportDelay);
    for (const { group, message, sentAtMs } of first.awaiting ?? []) partitions.await('flow-1', group, message, sentAtMs);
    // payment handles 501 at T0 + 40, then a thousand more in the ten seconds the spans may take
    reads(partitions, 'payments', 1_000, { from: 501, atMs: T0 + 40 });
    assert.deepEqual(partitions.takeWoken(), ['flow-1']);
    const verdict = judgeFlow(waiting(), model.view(T0 + 40 + 10_000, partitions), exportDelay);
    assert.equal(verdict.state, 'stalled');
    assert.equal(verdict.explanation?.kind === 'consumer' && verdict.explanation.passedOver?.laterOffset, '501');
  });

  test('a group that handles messages side by side proves nothing by a later one: its flows wait out their deadlines', () => {
    const partitions = new PartitionProgress({ sequentialMinSamples: 1_000 });
    reads(partitions, 'payments', 1_100, { handlingMs: 50, atMs: T0 - 3_600_000, partition: 1 }); // each begun before the last ended
    partitions.observe('payments', 'orders/2/501', T0 + 40, T0 + 45);
    const verdict = judgeFlow(waiting(), model.view(T0 + 2_040, partitions), delay);
    assert.equal(verdict.state, 'running');
    assert.equal(verdict.awaiting, undefined, 'not waited on by partition');
  });
});
