/**
 * A guard beside the browser tests: no code of the dashboard hands a string to an HTML parser, so a span's
 * text can only ever be text (dom.ts builds elements, D3 sets `.text`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';

const SRC = fileURLToPath(new URL('../src', import.meta.url));
const SINKS = /\.innerHTML\b|\.outerHTML\b|insertAdjacentHTML|document\.write|\.html\(|createContextualFragment|DOMParser|new Function\(|\beval\(|setAttribute\(\s*['"]on/;

test('no source of the dashboard uses an HTML sink', () => {
  const files = readdirSync(SRC, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile() && entry.name.endsWith('.ts'));
  assert.ok(files.length >= 10, `${files.length} files read`);
  const found = files.flatMap((entry) => {
    const path = join(entry.parentPath, entry.name);
    return readFileSync(path, 'utf8').split('\n').flatMap((line, i) => (SINKS.test(line) ? [`${path.slice(SRC.length + 1)}:${i + 1}: ${line.trim()}`] : []));
  });
  assert.deepEqual(found, []);
});
