/**
 * The assembler's compact working set: spans kept as rows of typed columns give back exactly the facts
 * they were given; the row index finds every row through collisions, removals and growth; names and rows
 * are freed when nothing refers to them, so a working set emptied by eviction holds nothing.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowAssembler } from '../src/core/assemble.ts';
import { toFlowSpan, type FlowSpan } from '../src/core/flow-span.ts';
import { Names, NO_NAME } from '../src/core/names.ts';
import { RowIndex } from '../src/core/row-index.ts';
import { NO_ROW, SpanRows } from '../src/core/span-rows.ts';
import { fixtureRecords, readFlowFixtures, spanIdOf, traceIdOf } from './flow-fixtures.ts';

/** A span's facts as plain data (toFlowSpan's objects read their ids through getters). */
const facts = (span: FlowSpan) => ({
  key: span.key, traceId: span.traceId, spanId: span.spanId, parentKey: span.parentKey, role: span.role, serviceName: span.serviceName,
  host: span.host, startMs: span.startMs, endMs: span.endMs, error: span.error, destination: span.destination, message: span.message,
  consumerGroup: span.consumerGroup, eventType: span.eventType, businessKey: span.businessKey, attempt: span.attempt,
  contextStatus: span.contextStatus, links: [...span.links],
});

function producer(label: string, fields: Partial<FlowSpan> = {}): FlowSpan {
  const traceId = traceIdOf(label);
  const spanId = spanIdOf(label);
  return {
    key: `${traceId}/${spanId}`, traceId, spanId, parentKey: null, role: 'producer', serviceName: 'order', host: 'order-1',
    startMs: 1_790_000_000_000.25, endMs: 1_790_000_000_003.5, error: false, destination: 'orders', message: 'orders/0/42',
    consumerGroup: null, eventType: 'OrderCreated', businessKey: 'order-1', attempt: null, contextStatus: null, links: [], ...fields,
  };
}

describe('span rows', () => {
  test('every fixture span assembled gives back the facts it was given', () => {
    let checked = 0;
    for (const fixture of readFlowFixtures()) {
      const spans = fixtureRecords(fixture).map(toFlowSpan);
      const assembler = new FlowAssembler({ maxSegmentsPerKey: fixture.maxSegmentsPerKey });
      assembler.add(spans, 0);
      const given = new Map(spans.map((span) => [span.key, facts(span)]));
      for (const flow of assembler.flows) {
        for (const span of flow.spans()) {
          assert.deepEqual(facts(span), given.get(span.key), `${fixture.name}: ${span.key}`);
          checked += 1;
        }
      }
    }
    assert.ok(checked > 100, `${checked} spans checked`);
  });

  test('what does not fit a column comes back too: odd messages, huge attempts, several links, a self-link', () => {
    const rows = new SpanRows();
    const spans = [
      producer('a', { message: 'orders/0/123456789012345678901234' }), // an offset past 2^53
      producer('b', { message: 'orders/007/1' }), // digits as sent, not canonical
      producer('c', { destination: 'payments' }), // a message on another topic than the destination
      producer('d', { message: 'orders/0/43', attempt: 70_000, error: true, role: 'consumer', consumerGroup: 'payment', contextStatus: 'propagated' }),
      producer('e', { message: 'orders/1/44', links: [producer('a').key, producer('b').key] }),
      producer('f', { message: 'orders/1/45', links: [producer('f').key] }),
      producer('g', { parentKey: producer('g').key, message: null, destination: null, eventType: null }),
    ];
    for (const span of spans) {
      const row = rows.point(span.key);
      const self = (key: string | null | undefined) => (key === undefined || key === null ? NO_ROW : key === span.key ? row : rows.point(key));
      rows.arrive(row, span, self(span.parentKey), span.links.length === 1 ? self(span.links[0]) : NO_ROW, span.businessKey, null);
      assert.deepEqual(facts(rows.spanOf(row)), facts(span), span.key);
      if (span.message !== null) assert.equal(rows.findMessage(span.message), NO_ROW, 'a message is found only once filed');
      rows.indexMessage(row);
      if (span.message !== null) assert.equal(rows.findMessage(span.message), row);
    }
    assert.equal(rows.find(`${'g'.repeat(32)}/${'0'.repeat(16)}`), NO_ROW, 'not hex');
    assert.equal(rows.point('abc'), NO_ROW, 'not a span key');
  });

  test('names past 65,535 widen the name columns and every name still reads back', () => {
    const rows = new SpanRows();
    const count = 70_000;
    for (let n = 0; n < count; n += 1) {
      const span = producer(`w${n}`, { serviceName: `service-${n}`, message: `orders/0/${n}` });
      rows.arrive(rows.point(span.key), span, NO_ROW, NO_ROW, null, null);
    }
    for (const n of [0, 65_534, 65_535, 65_536, count - 1]) assert.equal(rows.spanOf(rows.find(producer(`w${n}`).key)).serviceName, `service-${n}`);
  });

  test('a batch span forgotten while its children are held stays for their sake, and goes with the last of them', () => {
    const rows = new SpanRows();
    const poll = producer('poll', { role: 'batch', message: null });
    const pollRow = rows.point(poll.key);
    rows.arrive(pollRow, poll, NO_ROW, NO_ROW, null, null);
    const child = producer('child', { parentKey: poll.key, message: null });
    const childRow = rows.point(child.key);
    rows.arrive(childRow, child, pollRow, NO_ROW, null, null);
    rows.retire(pollRow);
    assert.equal(rows.find(poll.key), NO_ROW, 'the batch span is found no more');
    assert.equal(rows.spanOf(childRow).parentKey, poll.key, 'its child still names it');
    const newcomer = rows.point(producer('new').key);
    assert.notEqual(newcomer, pollRow, 'its row is not given out while named');
    rows.retire(childRow);
    assert.equal(rows.point(producer('newer').key), pollRow, 'freed with its last child');
  });
});

describe('row index', () => {
  test('rows sharing a hash are all found, removed ones are not, and growth keeps them', () => {
    const keys: number[] = [];
    const index = new RowIndex((row) => keys[row]! % 7); // seven hashes for thousands of rows: long chains
    const holds = (key: number) => (row: number) => keys[row] === key;
    for (let row = 0; row < 3000; row += 1) {
      keys[row] = row * 13;
      index.insert(keys[row]! % 7, row);
    }
    for (let row = 0; row < 3000; row += 2) assert.ok(index.remove(keys[row]! % 7, row));
    assert.equal(index.remove(0, 0), false, 'removed already');
    for (let row = 3000; row < 5000; row += 1) {
      keys[row] = row * 13;
      index.insert(keys[row]! % 7, row);
    }
    assert.equal(index.size, 1500 + 2000);
    for (let row = 0; row < 5000; row += 1) {
      const found = index.find(keys[row]! % 7, holds(keys[row]!));
      assert.equal(found, row < 3000 && row % 2 === 0 ? -1 : row, `row ${row}`);
    }
  });
});

describe('names', () => {
  test('a name lives while referred to, and its number is given out again', () => {
    const names = new Names();
    assert.equal(names.take(null), NO_NAME);
    const payment = names.take('payment');
    assert.equal(names.take('payment'), payment);
    names.release(payment);
    assert.equal(names.text(payment), 'payment', 'one reference left');
    names.release(payment);
    assert.equal(names.find('payment'), NO_NAME);
    assert.equal(names.size, 0);
    assert.equal(names.take('inventory'), payment, 'the number is reused');
  });
});

describe('a working set emptied by eviction holds nothing', () => {
  test('rows, names and keys all go with their flows', () => {
    const assembler = new FlowAssembler();
    for (const fixture of readFlowFixtures()) {
      assembler.add(fixtureRecords(fixture, fixture.name).map(toFlowSpan), 0);
    }
    assembler.takeChanges();
    assert.ok(assembler.stats.rows > 100);
    assert.ok(assembler.stats.names > 5);
    assembler.evictIdle(Number.POSITIVE_INFINITY);
    assert.deepEqual({ ...assembler.stats, sharedKeys: 0 }, { flows: 0, spans: 0, batchSpans: 0, pendingReferences: 0, sharedKeys: 0, rows: 0, names: 0 });
  });
});
