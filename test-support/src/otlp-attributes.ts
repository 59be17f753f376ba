/**
 * Attribute values as OTLP/JSON writes them (`{ stringValue }`, `{ intValue }`, arrays, key-value lists),
 * for tests and benchmarks that build exports by hand.
 */

export type JsonAttributeValue = string | number | boolean | null | JsonAttributeValue[] | { [key: string]: JsonAttributeValue };

export function otlpAnyValue(value: JsonAttributeValue): Record<string, unknown> {
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (typeof value === 'number') return Number.isInteger(value) ? { intValue: value } : { doubleValue: value };
  if (Array.isArray(value)) return { arrayValue: { values: value.map(otlpAnyValue) } };
  if (value === null) return {};
  return { kvlistValue: { values: otlpKeyValues(value) } };
}

export function otlpKeyValues(attributes: { [key: string]: JsonAttributeValue }): { key: string; value: Record<string, unknown> }[] {
  return Object.entries(attributes).map(([key, value]) => ({ key, value: otlpAnyValue(value) }));
}
