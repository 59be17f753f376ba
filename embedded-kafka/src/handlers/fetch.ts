import { ErrorCode } from '../protocol/errors.ts';
import { FetchRequest, FetchResponse, type FetchPartitionResponse } from '../protocol/apis/fetch.ts';
import { defineApi, type RequestContext } from './api.ts';

const READ_COMMITTED = 1;

function readOnce(request: FetchRequest, { state }: RequestContext): { response: FetchResponse; bytes: number } {
  let budget = request.maxBytes;
  let bytes = 0;
  const responses = request.topics.map((t) => ({
    topic: t.topic,
    partitions: t.partitions.map((p): FetchPartitionResponse => {
      const log = state.topics.partition(t.topic, p.partition);
      const base = { partition: p.partition, lastStableOffset: -1, logStartOffset: -1, abortedTransactions: null, preferredReadReplica: -1 };
      if (!log) return { ...base, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, highWatermark: -1, records: null };
      const lastStableOffset = log.lastStableOffset;
      const marks = { highWatermark: log.nextOffset, lastStableOffset, logStartOffset: log.logStartOffset };
      if (p.fetchOffset < log.logStartOffset || p.fetchOffset > log.nextOffset) {
        return { ...base, ...marks, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, records: null };
      }
      // The response limit may cut partitions after the first, never the first batch (KIP-74).
      const limit = bytes === 0 ? p.partitionMaxBytes : Math.min(p.partitionMaxBytes, budget);
      // read_committed sees nothing past an open transaction, and learns which ranges were aborted.
      const readCommitted = request.isolationLevel === READ_COMMITTED;
      const upTo = readCommitted ? lastStableOffset : log.nextOffset;
      const read = limit > 0 ? log.read(p.fetchOffset, limit, upTo) : { batches: [], bytes: 0 };
      bytes += read.bytes;
      budget -= read.bytes;
      const abortedTransactions = readCommitted ? log.transactions.abortedBetween(p.fetchOffset, upTo) : null;
      return { ...base, ...marks, abortedTransactions, errorCode: ErrorCode.NONE, records: read.batches };
    }),
  }));
  return { response: { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, responses }, bytes };
}

/**
 * Fetch as a real long poll: answer at once when `minBytes` are available, otherwise wait until an
 * append to one of the requested partitions or `maxWaitMs`, whichever comes first. Fetch sessions
 * (KIP-227) are not kept: session id 0 tells the client every request is a full one.
 */
export const fetch = defineApi<FetchRequest, FetchResponse>({
  key: 1,
  name: 'Fetch',
  minVersion: 4,
  maxVersion: 11,
  request: FetchRequest,
  response: FetchResponse,
  async handle(request, context) {
    const deadline = Date.now() + request.maxWaitMs;
    const wanted = request.topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.topic, partition: p.partition })));
    for (;;) {
      const result = readOnce(request, context);
      const remainingMs = deadline - Date.now();
      const failed = result.response.responses.some((t) => t.partitions.some((p) => p.errorCode !== ErrorCode.NONE));
      if (result.bytes >= request.minBytes || failed || remainingMs <= 0 || wanted.length === 0) return result.response;
      await context.state.appends.waitForAppend(wanted, remainingMs);
    }
  },
});
