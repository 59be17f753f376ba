/**
 * What the store must hand the assembler before a batch of new spans is added, so that joining against
 * the working set gives what joining against every stored span would: the stored flows each new span
 * can touch. Pure: the flow worker runs the lookups on the store and loads what they find.
 */
import type { FlowAssembler } from './assemble.ts';
import type { FlowSpan } from './flow-span.ts';
import type { BusinessKey } from './span.ts';

export interface FlowLookups {
  /** Spans the new ones name as parent or link, not held: load each (and its flow). */
  spans: string[];
  /** The new spans' own keys: load the stored spans that name one of them as parent or link (and their flows). */
  referrersOf: string[];
  /** Kafka messages of new spans whose flow is not held: load the flow that has the message. */
  messages: string[];
  /** Business keys of new spans whose flow is not held: load the flow that has the key, or learn that it is shared. */
  keys: BusinessKey[];
}

export function lookupsFor(spans: readonly FlowSpan[], assembler: FlowAssembler): FlowLookups {
  const named = new Set<string>();
  const messages = new Set<string>();
  const keys = new Set<BusinessKey>();
  for (const span of spans) {
    if (span.parentKey !== null) named.add(span.parentKey);
    if (span.links.length === 1 && span.links[0] !== span.key) named.add(span.links[0]!);
    if (span.message !== null && !assembler.knowsMessage(span.message)) messages.add(span.message);
    if (span.businessKey !== null && !assembler.knowsKey(span.businessKey)) keys.add(span.businessKey);
  }
  const own = new Set(spans.map((span) => span.key));
  return {
    spans: [...named].filter((key) => !own.has(key) && !assembler.holds(key)),
    // children and linkers that arrived before are held as waiting references, unless evicted or from an earlier run
    referrersOf: [...own],
    messages: [...messages],
    keys: [...keys],
  };
}
