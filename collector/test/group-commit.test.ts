import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GroupCommitter, type CommitRequest } from '../src/store/group-commit.ts';
import { StoreOverloadedError, StoreRejectedDataError, StoreUnavailableError } from '../src/store/store.ts';
import { toSpanRecords } from '../src/ingest/to-span-records.ts';
import { jsonRequest, jsonSpan, startCollector, waitFor } from './helpers.ts';
import { forEachStore } from './stores.ts';

/** A commit that takes `delayMs` and records the groups it was given. */
function slowCommit(delayMs: number, fail?: (requests: readonly (readonly number[])[]) => Error | undefined) {
  const groups: number[][][] = [];
  const commit = async (group: readonly CommitRequest<number, never>[]) => {
    const requests = group.map((request) => request.items);
    groups.push(requests.map((r) => [...r]));
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    const error = fail?.(requests);
    if (error) throw error;
    return requests.map((r) => r.length);
  };
  return { groups, commit };
}

test('requests arriving while a transaction runs share the next one; each settles when its own commits', async () => {
  const { groups, commit } = slowCommit(20);
  const committer = new GroupCommitter<number, number>(commit);
  const first = committer.submit([0, 0]);
  await waitFor(() => groups.length === 1, 1_000, 'the first commit to start');
  const rest = Array.from({ length: 9 }, (_, i) => committer.submit([i, i]));
  assert.deepEqual(await Promise.all([first, ...rest]), Array(10).fill(2));
  assert.deepEqual(groups.map((g) => g.length), [1, 9], 'the nine that came during the first commit share the second');
  assert.deepEqual(committer.stats, { commits: 2, requests: 10, largestGroup: 9 });
});

test('requests submitted in the same turn of the event loop share one transaction', async () => {
  const { groups, commit } = slowCommit(1);
  const committer = new GroupCommitter<number, number>(commit);
  await Promise.all(Array.from({ length: 10 }, (_, i) => committer.submit([i])));
  assert.deepEqual(groups.map((g) => g.length), [10]);
});

test('a group takes whole requests up to maxItemsPerCommit; a larger request goes alone', async () => {
  const { groups, commit } = slowCommit(5);
  const committer = new GroupCommitter<number, number>(commit, { maxItemsPerCommit: 4 });
  await Promise.all([committer.submit([1]), committer.submit([1, 2]), committer.submit([1, 2]), committer.submit([1, 2, 3, 4, 5, 6]), committer.submit([1])]);
  assert.deepEqual(groups.map((g) => g.map((r) => r.length)), [[1, 2], [2], [6], [1]]);
});

test('a full queue refuses at once instead of growing, and takes requests again once it drains', async () => {
  const { commit } = slowCommit(30);
  const committer = new GroupCommitter<number, number>(commit, { maxQueuedItems: 5 });
  const first = committer.submit([1, 2, 3]);
  const second = committer.submit([1, 2]);
  await assert.rejects(committer.submit([1]), StoreOverloadedError);
  assert.equal(committer.queuedItems, 5);
  await Promise.all([first, second]);
  assert.equal(committer.queuedItems, 0);
  assert.equal(await committer.submit([1, 2, 3, 4, 5, 6, 7]), 7, 'a request larger than the bound passes when nothing waits');
});

test('a failed commit rejects every request of its group; unstorable data is retried request by request', async () => {
  const unavailable = new GroupCommitter<number, number>(slowCommit(1, () => new StoreUnavailableError('disk gone')).commit);
  const outcomes = await Promise.allSettled([unavailable.submit([1]), unavailable.submit([2]), unavailable.submit([3])]);
  assert.deepEqual(outcomes.map((o) => o.status), ['rejected', 'rejected', 'rejected']);

  const poisoned = (requests: readonly (readonly number[])[]) =>
    requests.some((r) => r.includes(666)) ? new StoreRejectedDataError('value out of range') : undefined;
  const isolating = new GroupCommitter<number, number>(slowCommit(1, poisoned).commit);
  const mixed = await Promise.allSettled([isolating.submit([1]), isolating.submit([2]), isolating.submit([666]), isolating.submit([4])]);
  assert.deepEqual(mixed.map((o) => o.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
});

test('close waits for accepted requests, then refuses new ones as unavailable', async () => {
  const committer = new GroupCommitter<number, number>(slowCommit(10).commit);
  const pending = [committer.submit([1]), committer.submit([2])];
  await committer.close();
  assert.deepEqual(await Promise.all(pending), [1, 1]);
  await assert.rejects(committer.submit([3]), StoreUnavailableError);
});

forEachStore((kind) => {
  test('100 concurrent writes commit in far fewer transactions, every span stored once', async () => {
    const collector = await startCollector(kind);
    try {
      const decoded = Array.from({ length: 100 }, () => toSpanRecords(jsonRequest([jsonSpan(), jsonSpan()])));
      const batches = decoded.map((result) => (result.ok ? result.spans : assert.fail('a valid request')));
      const results = await Promise.all(batches.map((spans) => collector.store.writeSpans(spans)));
      assert.ok(results.every((r) => r.stored === 2 && r.duplicates === 0));
      const { commits, requests, largestGroup } = collector.store.commitStats;
      assert.equal(requests, 100);
      assert.ok(commits <= 10, `${commits} transactions for 100 writes`);
      assert.ok(largestGroup >= 10, `the largest group held ${largestGroup} writes`);
      for (const spans of batches) assert.equal((await collector.store.spansOfTrace(spans[0]!.traceId)).length, 1);
    } finally {
      await collector.close();
    }
  });
});
