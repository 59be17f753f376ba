/**
 * Builds a Kafka frame from primitive types. Small values go into a growing scratch buffer; large
 * buffers (record batches) are kept by reference as separate chunks, so a fetch response is assembled
 * without copying the log.
 */
export class Writer {
  private chunks: Buffer[] = [];
  private scratch: Buffer;
  private used = 0;
  private total = 0;

  constructor(initialBytes = 256) {
    this.scratch = Buffer.allocUnsafe(initialBytes);
  }

  get length(): number {
    return this.total + this.used;
  }

  private room(bytes: number): number {
    if (this.used + bytes > this.scratch.length) {
      this.flushScratch();
      if (bytes > this.scratch.length) this.scratch = Buffer.allocUnsafe(Math.max(bytes, this.scratch.length * 2));
    }
    const at = this.used;
    this.used += bytes;
    return at;
  }

  private flushScratch(): void {
    if (this.used === 0) return;
    this.chunks.push(this.scratch.subarray(0, this.used));
    this.total += this.used;
    this.scratch = Buffer.allocUnsafe(this.scratch.length);
    this.used = 0;
  }

  int8(value: number): this {
    const at = this.room(1); // before reading this.scratch: room() may replace it
    this.scratch.writeInt8(value, at);
    return this;
  }

  int16(value: number): this {
    const at = this.room(2);
    this.scratch.writeInt16BE(value, at);
    return this;
  }

  int32(value: number): this {
    const at = this.room(4);
    this.scratch.writeInt32BE(value, at);
    return this;
  }

  int64(value: number): this {
    const at = this.room(8);
    this.scratch.writeBigInt64BE(BigInt(value), at);
    return this;
  }

  boolean(value: boolean): this {
    return this.int8(value ? 1 : 0);
  }

  nullableString(value: string | null | undefined): this {
    if (value === null || value === undefined) return this.int16(-1);
    const length = Buffer.byteLength(value);
    this.int16(length);
    const at = this.room(length);
    this.scratch.write(value, at, 'utf8');
    return this;
  }

  string(value: string): this {
    return this.nullableString(value);
  }

  nullableBytes(value: Buffer | null | undefined): this {
    if (value === null || value === undefined) return this.int32(-1);
    this.int32(value.length);
    return this.raw(value);
  }

  bytes(value: Buffer): this {
    return this.nullableBytes(value);
  }

  /** Appends bytes as they are; buffers over 4 KiB are referenced, not copied. */
  raw(value: Buffer): this {
    if (value.length > 4096) {
      this.flushScratch();
      this.chunks.push(value);
      this.total += value.length;
    } else {
      const at = this.room(value.length);
      value.copy(this.scratch, at);
    }
    return this;
  }

  /** The frame's pieces, in order; `frame()` when one buffer is needed. */
  toChunks(): Buffer[] {
    this.flushScratch();
    return this.chunks;
  }

  toBuffer(): Buffer {
    const chunks = this.toChunks();
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.total);
  }
}
