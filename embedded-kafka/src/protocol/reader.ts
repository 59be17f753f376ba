/** Thrown when bytes from a client do not decode: the connection that sent them is closed. */
export class MalformedInputError extends Error {
  override readonly name = 'MalformedInputError';
}

/**
 * Reads Kafka's primitive types (big-endian, length-prefixed) from one buffer.
 * Every read is bounds-checked: a short or lying frame raises MalformedInputError, never a RangeError
 * deep in a handler.
 */
export class Reader {
  offset: number;

  constructor(readonly buffer: Buffer, offset = 0, readonly end = buffer.length) {
    this.offset = offset;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  private need(bytes: number, what: string): number {
    if (bytes < 0 || this.offset + bytes > this.end) {
      throw new MalformedInputError(`frame too short reading ${what} at byte ${this.offset}`);
    }
    const at = this.offset;
    this.offset += bytes;
    return at;
  }

  int8(): number {
    return this.buffer.readInt8(this.need(1, 'int8'));
  }

  int16(): number {
    return this.buffer.readInt16BE(this.need(2, 'int16'));
  }

  int32(): number {
    return this.buffer.readInt32BE(this.need(4, 'int32'));
  }

  uint32(): number {
    return this.buffer.readUInt32BE(this.need(4, 'uint32'));
  }

  /** Offsets and timestamps stay below 2^53, so a number is exact and far cheaper than a bigint. */
  int64(): number {
    const at = this.need(8, 'int64');
    return this.buffer.readInt32BE(at) * 0x1_0000_0000 + this.buffer.readUInt32BE(at + 4);
  }

  boolean(): boolean {
    return this.int8() !== 0;
  }

  string(): string {
    const value = this.nullableString();
    if (value === null) throw new MalformedInputError('null where a non-nullable string was expected');
    return value;
  }

  nullableString(): string | null {
    const length = this.int16();
    if (length < 0) return null;
    const at = this.need(length, 'string');
    return this.buffer.toString('utf8', at, at + length);
  }

  bytes(): Buffer {
    const value = this.nullableBytes();
    if (value === null) throw new MalformedInputError('null where non-nullable bytes were expected');
    return value;
  }

  nullableBytes(): Buffer | null {
    const length = this.int32();
    if (length < 0) return null;
    const at = this.need(length, 'bytes');
    return this.buffer.subarray(at, at + length);
  }

  raw(length: number): Buffer {
    const at = this.need(length, 'raw bytes');
    return this.buffer.subarray(at, at + length);
  }

  /** An array length: -1 means null (only legal where the schema says nullable). */
  arrayLength(): number {
    const length = this.int32();
    if (length < -1) throw new MalformedInputError(`negative array length ${length}`);
    // Each element takes at least one byte: a larger count is a lie that would make us loop for nothing.
    if (length > this.remaining) throw new MalformedInputError(`array length ${length} exceeds the frame`);
    return length;
  }

  /** Zig-zag varint (records use these for lengths and deltas). */
  varint(): number {
    const raw = this.uvarint();
    return (raw >>> 1) ^ -(raw & 1);
  }

  uvarint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = this.buffer[this.need(1, 'varint')]!;
      result |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result >>> 0;
      shift += 7;
      if (shift > 28) throw new MalformedInputError('varint longer than 5 bytes');
    }
  }

  /** Zig-zag varlong; timestamps deltas fit comfortably in a double. */
  varlong(): number {
    let result = 0;
    let multiplier = 1;
    for (let i = 0; ; i++) {
      if (i >= 10) throw new MalformedInputError('varlong longer than 10 bytes');
      const byte = this.buffer[this.need(1, 'varlong')]!;
      result += (byte & 0x7f) * multiplier;
      if ((byte & 0x80) === 0) break;
      multiplier *= 128;
    }
    return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
  }
}
