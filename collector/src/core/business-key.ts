// The attribute names come from the one constants module the instrumentation writes with; that module
// imports nothing, so the collector does not pull in the OpenTelemetry SDK.
import { ATTR_BUSINESS_KEY, ATTR_MESSAGING_MESSAGE_CONVERSATION_ID } from '@choreoscope/instrumentation/semconv';
import type { Attributes, BusinessKey } from './span.ts';

/** Where a business key is read by default: Choreoscope's attribute, then the messaging conversation id. */
export const DEFAULT_BUSINESS_KEY_ATTRIBUTES: readonly string[] = [ATTR_BUSINESS_KEY, ATTR_MESSAGING_MESSAGE_CONVERSATION_ID];

/** Longest business key kept: longer ones are not a key but a payload, and would not fit an index entry. */
export const MAX_BUSINESS_KEY_CHARS = 512;

export type BusinessKeyReading =
  | { key: BusinessKey | null }
  | { problem: string };

/**
 * The span's business key: the first of `names` it carries (by default `choreoscope.business_key`, else
 * `messaging.message.conversation_id`; a user of other instrumentation names `order.id` or
 * `messaging.kafka.message.key`). A string or an integer counts (an order id may be sent as a number);
 * an empty string or any other type counts as none. A key longer than MAX_BUSINESS_KEY_CHARS is a
 * problem to report, not a key.
 */
export function readBusinessKey(attributes: Attributes, names: readonly string[] = DEFAULT_BUSINESS_KEY_ATTRIBUTES): BusinessKeyReading {
  for (const name of names) {
    const value = attributes[name];
    const key = typeof value === 'string' ? value : Number.isInteger(value) ? String(value) : '';
    if (key === '') continue;
    if (key.length > MAX_BUSINESS_KEY_CHARS) {
      return { problem: `${name} is ${key.length} characters long, more than ${MAX_BUSINESS_KEY_CHARS}` };
    }
    return { key };
  }
  return { key: null };
}
