import { ErrorCode } from '../protocol/errors.ts';
import { OffsetCommitRequest, OffsetCommitResponse, OffsetFetchRequest, OffsetFetchResponse, type OffsetFetchPartition } from '../protocol/apis/offsets.ts';
import type { CommittedOffset } from '../group/offset-store.ts';
import { defineApi } from './api.ts';

export const offsetCommit = defineApi<OffsetCommitRequest, OffsetCommitResponse>({
  key: 8,
  name: 'OffsetCommit',
  minVersion: 0,
  maxVersion: 7,
  request: OffsetCommitRequest,
  response: OffsetCommitResponse,
  handle(request, { state }) {
    const group = state.existingGroup(request.groupId);
    // A commit outside the group protocol (generation -1, no member) is allowed while nobody consumes.
    let groupError: number = request.groupId === '' ? ErrorCode.INVALID_GROUP_ID : ErrorCode.NONE;
    if (groupError === ErrorCode.NONE) {
      if (group) groupError = group.commitError(request.memberId, request.generationId);
      else if (request.generationId >= 0) groupError = ErrorCode.UNKNOWN_MEMBER_ID;
    }
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => {
          let errorCode = groupError;
          if (errorCode === ErrorCode.NONE && !state.topics.partition(t.name, p.partitionIndex)) errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
          if (errorCode === ErrorCode.NONE) {
            state.offsets.commit(request.groupId, t.name, p.partitionIndex, {
              offset: p.committedOffset,
              leaderEpoch: p.committedLeaderEpoch,
              metadata: p.committedMetadata,
            });
          }
          return { partitionIndex: p.partitionIndex, errorCode };
        }),
      })),
    };
  },
});

export const offsetFetch = defineApi<OffsetFetchRequest, OffsetFetchResponse>({
  key: 9,
  name: 'OffsetFetch',
  minVersion: 1,
  maxVersion: 5,
  request: OffsetFetchRequest,
  response: OffsetFetchResponse,
  handle(request, { state }) {
    const answer = (partitionIndex: number, committed: CommittedOffset | undefined): OffsetFetchPartition => ({
      partitionIndex,
      committedOffset: committed?.offset ?? -1,
      committedLeaderEpoch: committed?.leaderEpoch ?? -1,
      metadata: committed?.metadata ?? '',
      errorCode: ErrorCode.NONE,
    });
    const topics = request.topics === null
      ? groupByTopic(state.offsets.committedBy(request.groupId)).map(([name, entries]) => ({
          name,
          partitions: entries.map((e) => answer(e.partition, e.committed)),
        }))
      : request.topics.map((t) => ({
          name: t.name,
          partitions: t.partitionIndexes.map((p) => answer(p, state.offsets.get(request.groupId, t.name, p))),
        }));
    return { throttleTimeMs: 0, topics, errorCode: ErrorCode.NONE };
  },
});

function groupByTopic<T extends { topic: string }>(entries: T[]): [string, T[]][] {
  const byTopic = new Map<string, T[]>();
  for (const e of entries) byTopic.set(e.topic, [...(byTopic.get(e.topic) ?? []), e]);
  return [...byTopic.entries()];
}
