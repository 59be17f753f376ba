import { ErrorCode } from '../protocol/errors.ts';
import {
  EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, ListOffsetsRequest, ListOffsetsResponse, type ListOffsetsPartitionResponse,
} from '../protocol/apis/list-offsets.ts';
import { defineApi } from './api.ts';

/** Earliest, latest, or the first offset at or after a timestamp. */
export const listOffsets = defineApi<ListOffsetsRequest, ListOffsetsResponse>({
  key: 2,
  name: 'ListOffsets',
  minVersion: 1,
  maxVersion: 5,
  request: ListOffsetsRequest,
  response: ListOffsetsResponse,
  handle(request, { state }) {
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p): ListOffsetsPartitionResponse => {
          const answer = { partitionIndex: p.partitionIndex, errorCode: ErrorCode.NONE, timestamp: -1, offset: -1, leaderEpoch: 0 };
          const log = state.topics.partition(t.name, p.partitionIndex);
          if (!log) return { ...answer, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, leaderEpoch: -1 };
          if (p.timestamp === LATEST_TIMESTAMP) return { ...answer, offset: log.nextOffset };
          if (p.timestamp === EARLIEST_TIMESTAMP) return { ...answer, offset: log.logStartOffset };
          const found = log.offsetForTimestamp(p.timestamp);
          return found ? { ...answer, ...found } : answer;
        }),
      })),
    };
  },
});
