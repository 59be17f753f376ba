import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERRORS, chsError } from '../src/api/errors.ts';

const DOC = readFileSync(new URL('../../docs/api-errors.md', import.meta.url), 'utf8');
const definitions = Object.entries(ERRORS);

test('the error catalogue holds 33 errors, each code unique and named after its entry', () => {
  assert.equal(definitions.length, 33, 'a new error needs its row in docs/api-errors.md and this count raised');
  const codes = definitions.map(([, d]) => d.code);
  assert.equal(new Set(codes).size, codes.length);
  for (const [name, definition] of definitions) {
    assert.equal(definition.code, `CHS_ERR_${name}`);
    assert.ok(definition.status >= 400 && definition.status < 600, `${definition.code} has an error status`);
  }
});

test('docs/api-errors.md documents exactly the catalogue, each code with its status', () => {
  const documented = new Map([...DOC.matchAll(/^\| `(CHS_ERR_[A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1]!, Number(m[2])]));
  assert.deepEqual([...documented.keys()].sort(), definitions.map(([, d]) => d.code).sort());
  for (const [, definition] of definitions) assert.equal(documented.get(definition.code), definition.status, definition.code);
});

test('a message fills every placeholder of its template', () => {
  const error = chsError(ERRORS.QUERY_LIMIT_INVALID, { max: 10_000, limit: 'lots' });
  assert.equal(error.message, 'limit must be an integer from 1 to 10000, not "lots"');
  assert.equal(error.code, 'CHS_ERR_QUERY_LIMIT_INVALID');
  assert.equal(error.statusCode, 400);
});
