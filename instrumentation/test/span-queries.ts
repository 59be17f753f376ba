// Finding the spans a test is about among everything a run exported.
import assert from 'node:assert/strict';
import type { AttributeValue } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';

/** Spans called `name` whose attributes include every entry of `match`. */
export function spansNamed(spans: readonly ReadableSpan[], name: string, match: Record<string, AttributeValue> = {}): ReadableSpan[] {
  return spans.filter((span) => span.name === name && Object.entries(match).every(([key, value]) => span.attributes[key] === value));
}

/** The one span called `name` matching `match`; fails when there is none or more than one. */
export function theSpan(spans: readonly ReadableSpan[], name: string, match: Record<string, AttributeValue> = {}): ReadableSpan {
  const found = spansNamed(spans, name, match);
  assert.equal(found.length, 1, `one ${name} span with ${JSON.stringify(match)}, got ${found.length}`);
  return found[0]!;
}

/** Span names with their counts, for assertion messages. */
export function describeSpans(spans: readonly ReadableSpan[]): string {
  const counts = new Map<string, number>();
  for (const span of spans) counts.set(span.name, (counts.get(span.name) ?? 0) + 1);
  return [...counts].map(([name, count]) => `${name} ×${count}`).join(', ') || 'no spans';
}
