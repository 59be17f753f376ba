import type { IHeaders } from 'kafkajs';
import { HEADER_BAGGAGE, HEADER_BUSINESS_KEY, HEADER_EVENT_TYPE, HEADER_CLOUDEVENTS_TYPE, HEADER_TRACEPARENT, HEADER_TRACESTATE } from './semconv.ts';

/**
 * Largest value, in bytes, trusted for each header. Headers come from whoever can write to the topic,
 * so anything larger is dropped before it is decoded or parsed. W3C caps tracestate at 512 and
 * baggage at 8192; a version-00 traceparent is 55 bytes, later versions may add fields.
 */
export const HEADER_BYTE_LIMITS: Readonly<Record<string, number>> = {
  [HEADER_TRACEPARENT]: 512,
  [HEADER_TRACESTATE]: 512,
  [HEADER_BAGGAGE]: 8192,
  [HEADER_BUSINESS_KEY]: 256,
  [HEADER_EVENT_TYPE]: 128,
  [HEADER_CLOUDEVENTS_TYPE]: 128,
};
/** Limit for any other header a propagator asks for (b3, uber-trace-id, …). */
const DEFAULT_BYTE_LIMIT = 1024;
/** Headers whose repeated values may be joined with commas (W3C list headers); any other repeat is ambiguous. */
const LIST_HEADERS = new Set([HEADER_TRACESTATE, HEADER_BAGGAGE]);

const utf8 = new TextDecoder('utf-8', { fatal: true });
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/** `truncated`: more baggage entries than W3C's limit of 180; the rest were kept. */
export type DropReason = 'too-large' | 'not-utf8' | 'ambiguous' | 'control-characters' | 'truncated';

/**
 * Read-only, case-insensitive view of a message's headers that only ever hands out bounded, valid
 * UTF-8 strings. What it refuses is remembered in `dropped`, so the consumer span can say so. Values
 * are decoded only when asked for, so a message with a thousand irrelevant headers costs one pass
 * over their names.
 */
export class SafeHeaders {
  readonly dropped = new Map<string, DropReason>();
  private index: Map<string, (Buffer | string)[]> | null = null;

  constructor(private readonly headers: IHeaders | undefined) {}

  private byLowerName(): Map<string, (Buffer | string)[]> {
    if (this.index) return this.index;
    const index = new Map<string, (Buffer | string)[]>();
    const headers = this.headers ?? {};
    // Object.keys, not Object.entries: no [name, value] pair allocated per header of every consumed message.
    for (const name of Object.keys(headers)) {
      const value = headers[name];
      if (value === undefined || value === null) continue;
      const lower = name.toLowerCase();
      const values = index.get(lower) ?? [];
      if (Array.isArray(value)) values.push(...value);
      else values.push(value);
      index.set(lower, values);
    }
    return (this.index = index);
  }

  keys(): string[] {
    return [...this.byLowerName().keys()];
  }

  has(name: string): boolean {
    return this.byLowerName().has(name.toLowerCase());
  }

  /** The header's value as a trusted string, or undefined when absent or dropped. */
  get(name: string): string | undefined {
    const lower = name.toLowerCase();
    const values = this.byLowerName().get(lower);
    if (!values || values.length === 0) return undefined;
    const limit = HEADER_BYTE_LIMITS[lower] ?? DEFAULT_BYTE_LIMIT;
    if (values.length > 1 && !LIST_HEADERS.has(lower)) return this.drop(lower, 'ambiguous');
    let total = 0;
    const parts: string[] = [];
    for (const value of values) {
      total += typeof value === 'string' ? Buffer.byteLength(value) : value.length;
      if (total > limit) return this.drop(lower, 'too-large');
      let text: string;
      try {
        text = typeof value === 'string' ? value : utf8.decode(value);
      } catch {
        return this.drop(lower, 'not-utf8');
      }
      if (CONTROL_CHARACTERS.test(text)) return this.drop(lower, 'control-characters');
      parts.push(text);
    }
    return parts.join(',');
  }

  private drop(name: string, reason: DropReason): undefined {
    this.dropped.set(name, reason);
    return undefined;
  }
}
