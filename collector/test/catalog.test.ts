/**
 * The event catalogue's deltas (core/catalog.ts): each producing service and each consuming service and
 * group of an event type on a topic counted once per span, with their time range, the attribute keys
 * they carried (the first MAX_CATALOG_ATTRIBUTE_KEYS in name order, however many spans bring how many),
 * and the events produced per minute.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { catalogDelta, MAX_CATALOG_ATTRIBUTE_KEYS } from '../src/core/catalog.ts';
import type { FlowSpan } from '../src/core/flow-span.ts';

let next = 0;
function span(fields: Partial<FlowSpan>): FlowSpan {
  const spanId = (++next).toString(16).padStart(16, '0');
  const traceId = 'a'.repeat(32);
  return {
    key: `${traceId}/${spanId}`, traceId, spanId, parentKey: null, role: 'producer', serviceName: 'order', host: 'order-1',
    startMs: 60_000, endMs: 60_010, error: false, destination: 'orders', message: null, consumerGroup: null,
    eventType: 'OrderCreated', businessKey: null, attempt: null, contextStatus: null, links: [], ...fields,
  };
}

test('producers and consumers counted per event type, topic, service and group, with their time range and minutes', () => {
  const delta = catalogDelta([
    { span: span({ startMs: 60_000, endMs: 60_010 }), attributeKeys: ['b', 'a'] },
    { span: span({ startMs: 119_999, endMs: 120_005 }), attributeKeys: ['c'] },
    { span: span({ startMs: 120_000, endMs: 120_001 }), attributeKeys: [] },
    { span: span({ role: 'consumer', serviceName: 'payment', consumerGroup: 'payments', startMs: 60_020, endMs: 60_030 }), attributeKeys: ['x'] },
    { span: span({ role: 'consumer', serviceName: 'payment', consumerGroup: null, startMs: 60_040, endMs: 60_050 }), attributeKeys: [] },
    { span: span({ role: 'internal' }), attributeKeys: ['ignored'] },
    { span: span({ eventType: null }), attributeKeys: ['ignored'] },
  ]);
  assert.deepEqual(delta.entries, [
    {
      eventType: 'OrderCreated', destination: 'orders', role: 'producer', service: 'order', consumerGroup: '',
      spans: 3, firstSeenMs: 60_000, lastSeenMs: 120_005, attributeKeys: ['a', 'b', 'c'],
    },
    {
      eventType: 'OrderCreated', destination: 'orders', role: 'consumer', service: 'payment', consumerGroup: 'payments',
      spans: 1, firstSeenMs: 60_020, lastSeenMs: 60_030, attributeKeys: ['x'],
    },
    {
      eventType: 'OrderCreated', destination: 'orders', role: 'consumer', service: 'payment', consumerGroup: '',
      spans: 1, firstSeenMs: 60_040, lastSeenMs: 60_050, attributeKeys: [],
    },
  ]);
  assert.deepEqual(delta.minutes, [
    { eventType: 'OrderCreated', destination: 'orders', minuteMs: 60_000, produced: 2 },
    { eventType: 'OrderCreated', destination: 'orders', minuteMs: 120_000, produced: 1 },
  ]);
});

test('attribute keys: the first in name order are kept, however many spans bring how many keys', () => {
  // 50 spans of 30 keys each, in an order that puts the smallest names last
  const all: string[] = [];
  const spans = Array.from({ length: 50 }, (_, i) => {
    const keys = Array.from({ length: 30 }, (_, j) => `key.${String(1_500 - (i * 30 + j)).padStart(4, '0')}`);
    all.push(...keys);
    return { span: span({}), attributeKeys: keys };
  });
  const [entry] = catalogDelta(spans).entries;
  assert.equal(entry!.spans, 50);
  assert.deepEqual(entry!.attributeKeys, [...new Set(all)].sort().slice(0, MAX_CATALOG_ATTRIBUTE_KEYS));
  assert.equal(entry!.attributeKeys[0], 'key.0001');
});
