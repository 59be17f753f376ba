/**
 * Reads a request body into memory, gunzipping on the way, and stops at `maxBodyBytes` counted both
 * before and after decompression: a gzip bomb is inflated chunk by chunk and abandoned once past the
 * limit, so memory stays near the limit whatever the compression ratio.
 */
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { BodyCompression } from './otlp-media.ts';

export class BodyTooLargeError extends Error {
  constructor(readonly maxBodyBytes: number) {
    super(`the body is larger than ${maxBodyBytes} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

export class GzipError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GzipError';
  }
}

/** The client went away before the body was complete: there is nobody to answer. */
export class BodyAbortedError extends Error {
  constructor() {
    super('the client closed the connection before the body was complete');
    this.name = 'BodyAbortedError';
  }
}

export interface ReadBodyOptions {
  compression: BodyCompression;
  maxBodyBytes: number;
}

export function readBody(source: Readable, options: ReadBodyOptions): Promise<Buffer> {
  const { compression, maxBodyBytes } = options;
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let rawBytes = 0;
    let settled = false;
    const gunzip = compression === 'gzip' ? createGunzip() : null;
    const output: Readable = gunzip ?? source;

    const settle = (error: Error | null): void => {
      if (settled) return;
      settled = true;
      source.off('data', countRaw);
      if (gunzip) {
        source.unpipe(gunzip);
        gunzip.destroy();
      }
      if (error) {
        // discard the rest of the upload so the client finishes sending and reads our answer
        source.resume();
        reject(error);
      } else {
        resolve(Buffer.concat(chunks, bytes));
      }
    };
    const countRaw = (chunk: Buffer): void => {
      rawBytes += chunk.length;
      if (rawBytes > maxBodyBytes) settle(new BodyTooLargeError(maxBodyBytes));
    };

    output.on('data', (chunk: Buffer) => {
      if (settled) return;
      bytes += chunk.length;
      if (bytes > maxBodyBytes) return settle(new BodyTooLargeError(maxBodyBytes));
      chunks.push(chunk);
    });
    output.once('end', () => settle(null));
    source.once('close', () => {
      if (!source.readableEnded) settle(new BodyAbortedError());
    });
    // Node's "aborted" (ECONNRESET): the connection closed mid-body, by the client or by a request timeout
    source.once('error', (error: Error & { code?: string }) => settle(error.code === 'ECONNRESET' ? new BodyAbortedError() : error));
    if (gunzip) {
      gunzip.once('error', (error) => settle(new GzipError(error.message)));
      source.on('data', countRaw);
      source.pipe(gunzip);
    }
  });
}
