/**
 * Flow fixtures: JSON files under fixtures/flows/, each a set of spans named by labels ("order.send"),
 * the options to assemble them with, and what must come out (flows, batch spans, hops, anomalies).
 * Labels become real ids here (a hash of the label), and a span's messaging facts become the attributes
 * of the instrumentation it claims to come from (`dialect`): Choreoscope's, the official kafkajs
 * instrumentation's, or the older semantic conventions of Java and Go instrumentations.
 */
import { createHash } from 'node:crypto';
import { otlpKeyValues as otlpAttributes } from '@choreoscope/test-support';
import { readFileSync, readdirSync } from 'node:fs';
import type { AnomalyType } from '../src/core/flow.ts';
import type { Attributes, AttributeValue, SpanKind, SpanRecord } from '../src/core/span.ts';
import { toSpanRecords } from '../src/ingest/to-span-records.ts';

export type Dialect = 'choreoscope' | 'official' | 'legacy';

export interface FixtureSpan {
  id: string;
  trace: string;
  /** A span label of the same trace (it need not be among the spans: a parent never reported). */
  parent?: string;
  service: string;
  kind?: SpanKind;
  /** Milliseconds after the fixture's epoch. */
  start: number;
  duration?: number;
  error?: boolean;
  host?: string;
  dialect?: Dialect;
  operation?: 'send' | 'process' | 'receive';
  topic?: string;
  partition?: number;
  offset?: number;
  group?: string;
  key?: string;
  eventType?: string;
  attempt?: number;
  contextStatus?: string;
  batchCount?: number;
  /** Labels of linked spans; `trace/span` for a span not among the fixture's spans. */
  links?: string[];
  attributes?: Attributes;
}

export interface Fixture {
  name: string;
  description: string;
  businessKeyAttributes?: string[];
  maxSegmentsPerKey?: number;
  orphanAfterMs?: number;
  /** `now` for describing, in milliseconds after the epoch. Default: an hour after the last span. */
  now?: number;
  spans: FixtureSpan[];
  expect: {
    /** Each flow's span labels. */
    flows: string[][];
    /** Spans in no flow (batch spans). */
    batch?: string[];
    /** "delivery a -> b by parent", "step b -> c by key", "delivery ? -> d", "... pending", "... skew". */
    hops?: string[];
    /** Every anomaly, as its type plus fields it must have (span references as labels). */
    anomalies?: ({ type: AnomalyType } & Record<string, unknown>)[];
  };
}

export const EPOCH_MS = Date.UTC(2026, 10, 30, 12, 0, 0);

const hex = (text: string, digits: number): string => createHash('sha256').update(text).digest('hex').slice(0, digits);
/** A label's id; `namespace` keeps fixtures sharing one store apart (their labels repeat). */
export const traceIdOf = (label: string, namespace = ''): string => hex(`trace:${namespace}${label}`, 32);
export const spanIdOf = (label: string, namespace = ''): string => hex(`span:${namespace}${label}`, 16);

const FIXTURES_DIR = new URL('./fixtures/flows/', import.meta.url);

export function readFlowFixtures(): Fixture[] {
  return readdirSync(FIXTURES_DIR)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => ({ name: file.replace(/\.json$/, ''), ...JSON.parse(readFileSync(new URL(file, FIXTURES_DIR), 'utf8')) }));
}

/** The fixture's spans as the collector's ingest makes them (through toSpanRecords, so the business key is read as configured). */
export function fixtureRecords(fixture: Fixture, namespace = ''): SpanRecord[] {
  const decoded = toSpanRecords(fixtureRequest(fixture, fixture.spans, namespace), fixture.businessKeyAttributes);
  if (!decoded.ok || decoded.rejections.length > 0) throw new Error(`fixture ${fixture.name} does not decode: ${JSON.stringify(decoded)}`);
  return decoded.spans;
}

/** Some of the fixture's spans as an OTLP/JSON export, a resource per span. */
export function fixtureRequest(fixture: Fixture, spans: readonly FixtureSpan[], namespace = ''): { resourceSpans: unknown[] } {
  const traceOfLabel = new Map(fixture.spans.map((span) => [span.id, span.trace]));
  return {
    resourceSpans: spans.map((span) => ({
      resource: { attributes: otlpAttributes({ 'service.name': span.service, ...(span.host ? { 'host.name': span.host } : {}) }) },
      scopeSpans: [{ scope: { name: `fixture-${span.dialect ?? 'choreoscope'}`, version: '1' }, spans: [otlpSpan(span, traceOfLabel, namespace)] }],
    })),
  };
}

/** Labels of the fixture's spans, and of the spans they name as parent or link, by span id. */
export function labelsBySpanId(fixture: Fixture, namespace = ''): Map<string, string> {
  const labels = new Map(fixture.spans.map((span) => [spanIdOf(span.id, namespace), span.id]));
  for (const span of fixture.spans) {
    for (const named of [span.parent, ...(span.links ?? []).map((link) => link.split('/').at(-1))]) {
      if (named !== undefined) labels.set(spanIdOf(named, namespace), named);
    }
  }
  return labels;
}

const KIND_NUMBERS: Record<SpanKind, number> = { unspecified: 0, internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };

function otlpSpan(span: FixtureSpan, traceOfLabel: Map<string, string>, namespace: string): Record<string, unknown> {
  const startNanos = BigInt(EPOCH_MS + span.start) * 1_000_000n;
  const links = (span.links ?? []).map((link) => {
    const [trace, label] = link.includes('/') ? link.split('/') as [string, string] : [traceOfLabel.get(link) ?? link, link];
    return { traceId: traceIdOf(trace, namespace), spanId: spanIdOf(label, namespace) };
  });
  const ns = (key: string | undefined) => (key === undefined ? undefined : `${namespace}${key}`);
  return {
    traceId: traceIdOf(span.trace, namespace),
    spanId: spanIdOf(span.id, namespace),
    parentSpanId: span.parent === undefined ? '' : spanIdOf(span.parent, namespace),
    name: span.id,
    kind: KIND_NUMBERS[span.kind ?? 'internal'],
    startTimeUnixNano: String(startNanos),
    endTimeUnixNano: String(startNanos + BigInt(Math.round((span.duration ?? 1) * 1_000_000))),
    status: span.error ? { code: 2, message: 'failed' } : {},
    attributes: otlpAttributes({ ...dialectAttributes({ ...span, key: ns(span.key), topic: ns(span.topic) }), ...span.attributes }),
    links,
  };
}

/** The span's messaging facts under the names its instrumentation uses. */
function dialectAttributes(span: FixtureSpan): Attributes {
  const a: Attributes = {};
  const set = (name: string, value: AttributeValue | undefined) => {
    if (value !== undefined) a[name] = value;
  };
  const operation = span.operation ?? (span.kind === 'producer' ? 'send' : span.kind === 'consumer' ? 'process' : undefined);
  switch (span.dialect ?? 'choreoscope') {
    case 'choreoscope':
      if (operation) set('messaging.system', 'kafka');
      set('messaging.operation.type', operation);
      set('messaging.destination.name', span.topic);
      set('messaging.destination.partition.id', span.partition === undefined ? undefined : String(span.partition));
      set('messaging.kafka.offset', span.offset);
      set('messaging.consumer.group.name', span.group);
      set('choreoscope.business_key', span.key);
      set('messaging.message.conversation_id', span.key);
      set('choreoscope.event.type', span.eventType);
      set('choreoscope.delivery.attempt', span.attempt);
      set('choreoscope.context.status', span.contextStatus);
      set('messaging.batch.message_count', span.batchCount);
      break;
    case 'official': // @opentelemetry/instrumentation-kafkajs: offsets as strings, no group, the message key
      set('messaging.system', 'kafka');
      set('messaging.operation.type', operation);
      set('messaging.operation.name', operation === 'receive' ? 'poll' : operation);
      set('messaging.destination.name', span.topic);
      set('messaging.destination.partition.id', span.partition === undefined ? undefined : String(span.partition));
      set('messaging.kafka.offset', span.offset === undefined ? undefined : String(span.offset));
      set('messaging.kafka.message.key', span.key);
      set('messaging.batch.message_count', span.batchCount);
      break;
    case 'legacy': // semantic conventions before 1.24, as older Java and Go instrumentations send them
      set('messaging.system', 'kafka');
      set('messaging.operation', operation === 'send' ? 'publish' : operation);
      set('messaging.destination', span.topic);
      set('messaging.kafka.partition', span.partition);
      set('messaging.kafka.message.offset', span.offset);
      set('messaging.kafka.consumer.group', span.group);
      set('order.id', span.key);
      break;
  }
  return a;
}

