/**
 * What the request headers of an OTLP/HTTP export say about its body: which of the two encodings, and
 * whether it is gzipped. Media types compare case-insensitively and without parameters
 * (`application/json; charset=utf-8` is JSON).
 */

export type OtlpEncoding = 'protobuf' | 'json';
export type BodyCompression = 'none' | 'gzip';

export const PROTOBUF_CONTENT_TYPE = 'application/x-protobuf';
export const JSON_CONTENT_TYPE = 'application/json';

/** The encoding a Content-Type names, or null for any other (or no) media type. */
export function encodingOf(contentType: string | undefined): OtlpEncoding | null {
  const mediaType = (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (mediaType === PROTOBUF_CONTENT_TYPE) return 'protobuf';
  if (mediaType === JSON_CONTENT_TYPE) return 'json';
  return null;
}

export function contentTypeOf(encoding: OtlpEncoding): string {
  return encoding === 'protobuf' ? PROTOBUF_CONTENT_TYPE : JSON_CONTENT_TYPE;
}

/** The compression a Content-Encoding names: none (absent or identity), gzip, or null for anything else. */
export function compressionOf(contentEncoding: string | undefined): BodyCompression | null {
  const coding = (contentEncoding ?? '').trim().toLowerCase();
  if (coding === '' || coding === 'identity') return 'none';
  if (coding === 'gzip' || coding === 'x-gzip') return 'gzip';
  return null;
}
