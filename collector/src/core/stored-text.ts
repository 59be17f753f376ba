// A NUL or a lone UTF-16 surrogate cannot be stored as PostgreSQL text or jsonb.
const UNSTORABLE_CHARS = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Text as the collector keeps it: NUL and unpaired surrogates become U+FFFD. Applied to every string
 * at ingest, and to query values (a business key in a URL), so both sides compare alike.
 */
export function cleanText(text: string): string {
  return text.replace(UNSTORABLE_CHARS, '\uFFFD');
}
