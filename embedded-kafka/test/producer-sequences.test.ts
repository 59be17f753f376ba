import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PartitionLog } from '../src/log/partition-log.ts';
import { ErrorCode } from '../src/protocol/errors.ts';
import type { BatchHeader } from '../src/records/record-batch.ts';

const header = (over: Partial<BatchHeader>): BatchHeader => ({
  baseOffset: 0, sizeBytes: 70, magic: 2, compression: 0, isTransactional: false, isControl: false,
  lastOffsetDelta: 1, baseTimestamp: 0, maxTimestamp: 0, producerId: 7, producerEpoch: 0, baseSequence: 0, recordCount: 2,
  ...over,
});
const appendTo = (log: PartitionLog, h: BatchHeader) => log.appendChecked([Buffer.alloc(h.sizeBytes)], [h]);

test('a retried batch of an idempotent producer is answered with its first offset and not appended again', () => {
  const log = new PartitionLog('t', 0);
  assert.deepEqual(appendTo(log, header({})), { baseOffset: 0 });
  assert.deepEqual(appendTo(log, header({ baseSequence: 2, lastOffsetDelta: 0, recordCount: 1 })), { baseOffset: 2 });
  assert.deepEqual(appendTo(log, header({})), { baseOffset: 0 }, 'the retry of the first batch');
  assert.equal(log.nextOffset, 3, 'nothing appended twice');
});

test('a sequence gap and a stale epoch are refused; a new epoch starts over', () => {
  const log = new PartitionLog('t', 0);
  appendTo(log, header({ producerEpoch: 1 }));
  const gap = appendTo(log, header({ producerEpoch: 1, baseSequence: 5 }));
  assert.ok('errorCode' in gap && gap.errorCode === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  const stale = appendTo(log, header({ producerEpoch: 0, baseSequence: 2 }));
  assert.ok('errorCode' in stale && stale.errorCode === ErrorCode.INVALID_PRODUCER_EPOCH);
  assert.deepEqual(appendTo(log, header({ producerEpoch: 2, baseSequence: 0 })), { baseOffset: 2 });
  assert.equal(log.nextOffset, 4);
});

test('batches without a producer id are never deduplicated', () => {
  const log = new PartitionLog('t', 0);
  appendTo(log, header({ producerId: -1, baseSequence: -1 }));
  appendTo(log, header({ producerId: -1, baseSequence: -1 }));
  assert.equal(log.nextOffset, 4);
});
