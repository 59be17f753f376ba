import { MalformedInputError, type Reader } from './reader.ts';
import type { Writer } from './writer.ts';

/**
 * Message schemas in the shape of the protocol guide's own definitions: each field says in which
 * versions it exists, so one generic codec serves every version of every API and a new version is a
 * one-line change. Only the non-flexible (pre-KIP-482) encodings are implemented; the broker advertises
 * versions accordingly.
 */
export type Primitive =
  | 'int8' | 'int16' | 'int32' | 'int64' | 'boolean'
  | 'string' | 'nullableString' | 'bytes' | 'nullableBytes'
  /** A record set: nullable bytes on the wire; encoded from a list of batches without copying them. */
  | 'records';

export interface ArrayType {
  kind: 'array';
  of: Primitive | Field[];
  /** Versions in which the array may be null (length -1). */
  nullableIn?: VersionRange;
}

export interface Field {
  name: string;
  type: Primitive | ArrayType;
  versions: VersionRange;
  /** Value when decoding a version that lacks the field. */
  default?: unknown;
}

export interface VersionRange {
  min: number;
  max: number;
}

/** `'3+'`, `'0-2'` or `'5'`, as in the protocol's message definitions. */
export function versions(spec: string): VersionRange {
  const plus = /^(\d+)\+$/.exec(spec);
  if (plus) return { min: Number(plus[1]), max: Number.MAX_SAFE_INTEGER };
  const range = /^(\d+)-(\d+)$/.exec(spec);
  if (range) return { min: Number(range[1]), max: Number(range[2]) };
  if (/^\d+$/.test(spec)) return { min: Number(spec), max: Number(spec) };
  throw new Error(`bad version range ${spec}`);
}

const inRange = (range: VersionRange, version: number) => version >= range.min && version <= range.max;

export function field(name: string, type: Primitive | ArrayType, range = '0+', fallback?: unknown): Field {
  return { name, type, versions: versions(range), default: fallback };
}

export function array(of: Primitive | Field[], nullableIn?: string): ArrayType {
  return { kind: 'array', of, nullableIn: nullableIn === undefined ? undefined : versions(nullableIn) };
}

function defaultFor(f: Field): unknown {
  if (f.default !== undefined) return f.default;
  if (typeof f.type === 'object') return [];
  switch (f.type) {
    case 'string': return '';
    case 'nullableString': case 'nullableBytes': case 'records': return null;
    case 'bytes': return Buffer.alloc(0);
    case 'boolean': return false;
    default: return 0;
  }
}

function readPrimitive(type: Primitive, reader: Reader): unknown {
  switch (type) {
    case 'int8': return reader.int8();
    case 'int16': return reader.int16();
    case 'int32': return reader.int32();
    case 'int64': return reader.int64();
    case 'boolean': return reader.boolean();
    case 'string': return reader.string();
    case 'nullableString': return reader.nullableString();
    case 'bytes': return reader.bytes();
    case 'nullableBytes': case 'records': return reader.nullableBytes();
  }
}

function writePrimitive(type: Primitive, value: unknown, writer: Writer, name: string): void {
  switch (type) {
    case 'int8': writer.int8(value as number); return;
    case 'int16': writer.int16(value as number); return;
    case 'int32': writer.int32(value as number); return;
    case 'int64': writer.int64(value as number); return;
    case 'boolean': writer.boolean(value as boolean); return;
    case 'string':
      if (typeof value !== 'string') throw new Error(`field ${name}: expected a string`);
      writer.string(value);
      return;
    case 'nullableString': writer.nullableString(value as string | null); return;
    case 'bytes': writer.bytes(value as Buffer); return;
    case 'nullableBytes': writer.nullableBytes(value as Buffer | null); return;
    case 'records': {
      const batches = value as Buffer[] | Buffer | null;
      if (batches === null || batches === undefined) { writer.int32(-1); return; }
      const list = Array.isArray(batches) ? batches : [batches];
      writer.int32(list.reduce((sum, b) => sum + b.length, 0));
      for (const batch of list) writer.raw(batch);
      return;
    }
  }
}

export function decode<T>(fields: Field[], version: number, reader: Reader): T {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    if (!inRange(f.versions, version)) {
      out[f.name] = defaultFor(f);
      continue;
    }
    if (typeof f.type === 'string') {
      out[f.name] = readPrimitive(f.type, reader);
      continue;
    }
    const length = reader.arrayLength();
    if (length === -1) {
      if (!f.type.nullableIn || !inRange(f.type.nullableIn, version)) {
        throw new MalformedInputError(`null array for non-nullable field ${f.name}`);
      }
      out[f.name] = null;
      continue;
    }
    const items = new Array<unknown>(length);
    const of = f.type.of;
    for (let i = 0; i < length; i++) {
      items[i] = typeof of === 'string' ? readPrimitive(of, reader) : decode(of, version, reader);
    }
    out[f.name] = items;
  }
  return out as T;
}

export function encode(fields: Field[], version: number, value: object, writer: Writer): void {
  const record = value as Record<string, unknown>;
  for (const f of fields) {
    if (!inRange(f.versions, version)) continue;
    const v = record[f.name] === undefined ? defaultFor(f) : record[f.name];
    if (typeof f.type === 'string') {
      writePrimitive(f.type, v, writer, f.name);
      continue;
    }
    if (v === null) {
      writer.int32(-1);
      continue;
    }
    const items = v as unknown[];
    writer.int32(items.length);
    const of = f.type.of;
    for (const item of items) {
      if (typeof of === 'string') writePrimitive(of, item, writer, f.name);
      else encode(of, version, item as object, writer);
    }
  }
}
