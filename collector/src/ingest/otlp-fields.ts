/**
 * Readers for the scalar fields of a decoded OTLP request. Both encodings arrive here as plain objects
 * with lowerCamelCase keys: protobuf through protobufjs's `toObject` (ids as bytes, 64-bit numbers as
 * decimal strings), OTLP/JSON as parsed (ids as hex strings, 64-bit numbers as strings or numbers).
 * A reader returns the value or throws `InvalidField`, which the caller turns into a rejection of the
 * one span that holds the field.
 */
import { cleanText } from '../core/stored-text.ts';

export class InvalidField extends Error {}

const HEX = /^[0-9a-fA-F]*$/;
const UNSIGNED_DECIMAL = /^\d{1,20}$/;
/** Beyond this a nanosecond timestamp is after the year 2262 and no longer fits a signed 64-bit integer. */
const MAX_UNIX_NANO = 2n ** 63n - 1n;

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

export function readText(value: unknown, field: string): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new InvalidField(`${field} must be a string`);
  return cleanText(value);
}

export function readArray(value: unknown, field: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new InvalidField(`${field} must be an array`);
  return value;
}

export function readObject(value: unknown, field: string): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (!isPlainObject(value)) throw new InvalidField(`${field} must be an object`);
  return value;
}

/** An OTLP enum: an integer. OTLP/JSON forbids enum names, so a string is refused, not looked up. */
export function readEnum(value: unknown, field: string): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  const shown = typeof value === 'string' ? `"${value}"` : typeof value;
  throw new InvalidField(`${field} must be an integer (OTLP/JSON encodes enums as integers, not names), got ${shown}`);
}

/**
 * A trace id (16 bytes) or span id (8 bytes) as lowercase hex. Protobuf carries bytes, OTLP/JSON hex
 * text; an empty id is missing, and an all-zero id is invalid by the OTLP definition.
 */
export function readId(value: unknown, byteLength: number, field: string): string {
  let hex: string;
  if (value instanceof Uint8Array) {
    if (value.length === 0) throw new InvalidField(`${field} is missing`);
    if (value.length !== byteLength) throw new InvalidField(`${field} must be ${byteLength} bytes, got ${value.length}`);
    hex = Buffer.from(value.buffer, value.byteOffset, value.length).toString('hex');
  } else if (typeof value === 'string') {
    if (value === '') throw new InvalidField(`${field} is missing`);
    if (!HEX.test(value)) {
      throw new InvalidField(`${field} is not hex ("${value.slice(0, 48)}"): OTLP/JSON ids are hex strings, not base64`);
    }
    if (value.length !== byteLength * 2) {
      throw new InvalidField(`${field} must be ${byteLength} bytes (${byteLength * 2} hex digits), got ${value.length} digits`);
    }
    hex = value.toLowerCase();
  } else if (value === undefined || value === null) {
    throw new InvalidField(`${field} is missing`);
  } else {
    throw new InvalidField(`${field} must be a hex string`);
  }
  if (/^0+$/.test(hex)) throw new InvalidField(`${field} is all zeros, which OTLP defines as invalid`);
  return hex;
}

/** A parent span id: absent, empty or all zeros means a root span (null). */
export function readParentId(value: unknown, field: string): string | null {
  if (value === undefined || value === null) return null;
  if (value instanceof Uint8Array && value.every((byte) => byte === 0)) return null;
  if (typeof value === 'string' && /^0*$/.test(value)) return null;
  return readId(value, 8, field);
}

/** A fixed64 nanosecond timestamp: a decimal string or an integer number; 0 (unset) is missing. */
export function readUnixNano(value: unknown, field: string): bigint {
  let nanos: bigint;
  if (typeof value === 'string' && UNSIGNED_DECIMAL.test(value)) nanos = BigInt(value);
  else if (typeof value === 'number' && Number.isInteger(value) && value >= 0) nanos = BigInt(value);
  else if (value === undefined || value === null) nanos = 0n;
  else throw new InvalidField(`${field} must be an unsigned integer of nanoseconds (a number or a decimal string)`);
  if (nanos === 0n) throw new InvalidField(`${field} is missing`);
  if (nanos > MAX_UNIX_NANO) throw new InvalidField(`${field} is after the year 2262`);
  return nanos;
}

/** Nanoseconds to fractional milliseconds: the whole milliseconds exactly, the fraction as a double can. */
export function nanosToMs(nanos: bigint): number {
  return Number(nanos / 1_000_000n) + Number(nanos % 1_000_000n) / 1e6;
}
