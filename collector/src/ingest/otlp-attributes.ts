/**
 * OTLP attributes (a list of KeyValue, each holding an AnyValue) flattened into a plain JSON map:
 *
 * - string, bool and double values as themselves; a non-finite double (NaN, ±Infinity) as its name
 *   in a string, since JSON has no such numbers;
 * - int64 as a number when it is a safe integer (|n| < 2^53), else as its decimal string;
 * - bytes as base64 text; an array as an array; a key-value list as an object; an empty value as null.
 *
 * A later duplicate key replaces an earlier one (OTLP requires unique keys; it does not say which wins).
 */
import type { AttributeValue, Attributes } from '../core/span.ts';
import { InvalidField, isPlainObject, readArray, readText } from './otlp-fields.ts';

/** Values nested deeper than this (arrays in arrays, lists in lists) are refused, not recursed into. */
export const MAX_ATTRIBUTE_DEPTH = 16;

const SIGNED_DECIMAL = /^-?\d{1,19}$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const NON_FINITE_NAMES = new Set(['NaN', 'Infinity', '-Infinity']);

export function readAttributes(value: unknown, field: string, depth = 0): Attributes {
  const attributes: Attributes = {};
  readArray(value, field).forEach((entry, index) => {
    if (!isPlainObject(entry)) throw new InvalidField(`${field}[${index}] must be an object with a key and a value`);
    const key = readText(entry.key, `${field}[${index}].key`);
    // defineProperty, not assignment: a key named "__proto__" must stay an ordinary entry
    Object.defineProperty(attributes, key, {
      value: readAnyValue(entry.value, `${field}[${index}].value`, depth),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  });
  return attributes;
}

function readAnyValue(value: unknown, field: string, depth: number): AttributeValue {
  if (value === undefined || value === null) return null;
  if (!isPlainObject(value)) throw new InvalidField(`${field} must be an AnyValue object`);
  if (depth >= MAX_ATTRIBUTE_DEPTH) throw new InvalidField(`${field} is nested deeper than ${MAX_ATTRIBUTE_DEPTH} levels`);
  if ('stringValue' in value) return readText(value.stringValue, `${field}.stringValue`);
  if ('boolValue' in value) {
    if (typeof value.boolValue !== 'boolean') throw new InvalidField(`${field}.boolValue must be true or false`);
    return value.boolValue;
  }
  if ('intValue' in value) return readInt64(value.intValue, `${field}.intValue`);
  if ('doubleValue' in value) return readDouble(value.doubleValue, `${field}.doubleValue`);
  if ('arrayValue' in value) {
    const list = value.arrayValue;
    const items = isPlainObject(list) ? readArray(list.values, `${field}.arrayValue.values`) : [];
    return items.map((item, index) => readAnyValue(item, `${field}.arrayValue.values[${index}]`, depth + 1));
  }
  if ('kvlistValue' in value) {
    const list = value.kvlistValue;
    return isPlainObject(list) ? readAttributes(list.values, `${field}.kvlistValue.values`, depth + 1) : {};
  }
  if ('bytesValue' in value) {
    const bytes = value.bytesValue;
    if (bytes instanceof Uint8Array) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64');
    return readText(bytes, `${field}.bytesValue`); // OTLP/JSON: already base64
  }
  return null;
}

function readInt64(value: unknown, field: string): number | string {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string' && SIGNED_DECIMAL.test(value)) {
    const big = BigInt(value);
    if (big < INT64_MIN || big > INT64_MAX) throw new InvalidField(`${field} is out of the int64 range`);
    const small = Number(big);
    return Number.isSafeInteger(small) ? small : big.toString();
  }
  throw new InvalidField(`${field} must be an integer (a number or a decimal string)`);
}

function readDouble(value: unknown, field: string): number | string {
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'string' && NON_FINITE_NAMES.has(value)) return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  throw new InvalidField(`${field} must be a number`);
}
