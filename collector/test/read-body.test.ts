import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { BodyTooLargeError, GzipError, readBody } from '../src/ingest/read-body.ts';

const MiB = 1024 * 1024;

/** `members` gzip members of 1 MiB of zeros each, concatenated: ~1 KB each, inflating to `members` MiB. */
function bomb(members: number): Buffer {
  const member = gzipSync(Buffer.alloc(MiB), { level: 9 });
  return Buffer.concat(Array.from({ length: members }, () => member));
}

/** A source that hands the buffer over in socket-sized chunks, as a request does. */
function source(buffer: Buffer): Readable {
  return Readable.from((function* () {
    for (let at = 0; at < buffer.length; at += 64 * 1024) yield buffer.subarray(at, at + 64 * 1024);
  })());
}

test('a 4 GiB gzip bomb is stopped at the 20 MiB limit, without inflating the rest', async () => {
  const compressed = bomb(4096); // about 4 MB on the wire
  const started = Date.now();
  const rssBefore = process.memoryUsage().rss;
  await assert.rejects(readBody(source(compressed), { compression: 'gzip', maxBodyBytes: 20 * MiB }), BodyTooLargeError);
  const elapsedMs = Date.now() - started;
  // inflating 4 GiB takes seconds and would need gigabytes to hold; stopping at 20 MiB takes neither
  assert.ok(elapsedMs < 2_000, `took ${elapsedMs} ms`);
  assert.ok(process.memoryUsage().rss - rssBefore < 200 * MiB, 'memory stayed near the limit');
});

test('a body of exactly the limit passes, one byte more does not, compressed or not', async () => {
  const exact = Buffer.alloc(1000, 7);
  assert.equal((await readBody(source(exact), { compression: 'none', maxBodyBytes: 1000 })).length, 1000);
  assert.equal((await readBody(source(gzipSync(exact)), { compression: 'gzip', maxBodyBytes: 1000 })).length, 1000);
  await assert.rejects(readBody(source(Buffer.alloc(1001)), { compression: 'none', maxBodyBytes: 1000 }), BodyTooLargeError);
  await assert.rejects(readBody(source(gzipSync(Buffer.alloc(1001))), { compression: 'gzip', maxBodyBytes: 1000 }), BodyTooLargeError);
});

test('what does not inflate is a GzipError, an empty gzip body included', async () => {
  await assert.rejects(readBody(source(Buffer.from('plain text')), { compression: 'gzip', maxBodyBytes: MiB }), GzipError);
  await assert.rejects(readBody(source(gzipSync('abc').subarray(0, 12)), { compression: 'gzip', maxBodyBytes: MiB }), GzipError);
  await assert.rejects(readBody(source(Buffer.alloc(0)), { compression: 'gzip', maxBodyBytes: MiB }), GzipError);
});
