import { array, field } from '../schema.ts';

export interface OffsetCommitRequest {
  groupId: string;
  /** -1 with an empty member id: a commit from outside the group protocol (admin tools, simple consumers). */
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  retentionTimeMs: number;
  topics: {
    name: string;
    partitions: { partitionIndex: number; committedOffset: number; committedLeaderEpoch: number; commitTimestamp: number; committedMetadata: string | null }[];
  }[];
}

export const OffsetCommitRequest = [
  field('groupId', 'string'),
  field('generationId', 'int32', '1+', -1),
  field('memberId', 'string', '1+'),
  field('groupInstanceId', 'nullableString', '7+', null),
  field('retentionTimeMs', 'int64', '2-4', -1),
  field('topics', array([
    field('name', 'string'),
    field('partitions', array([
      field('partitionIndex', 'int32'),
      field('committedOffset', 'int64'),
      field('committedLeaderEpoch', 'int32', '6+', -1),
      field('commitTimestamp', 'int64', '1', -1),
      field('committedMetadata', 'nullableString'),
    ])),
  ])),
];

export interface OffsetCommitResponse {
  throttleTimeMs: number;
  topics: { name: string; partitions: { partitionIndex: number; errorCode: number }[] }[];
}

export const OffsetCommitResponse = [
  field('throttleTimeMs', 'int32', '3+'),
  field('topics', array([
    field('name', 'string'),
    field('partitions', array([field('partitionIndex', 'int32'), field('errorCode', 'int16')])),
  ])),
];

export interface OffsetFetchRequest {
  groupId: string;
  /** null (v2+) asks for every partition the group committed. */
  topics: { name: string; partitionIndexes: number[] }[] | null;
}

export const OffsetFetchRequest = [
  field('groupId', 'string'),
  field('topics', array([field('name', 'string'), field('partitionIndexes', array('int32'))], '2+')),
];

export interface OffsetFetchPartition {
  partitionIndex: number;
  committedOffset: number;
  committedLeaderEpoch: number;
  metadata: string | null;
  errorCode: number;
}

export interface OffsetFetchResponse {
  throttleTimeMs: number;
  topics: { name: string; partitions: OffsetFetchPartition[] }[];
  errorCode: number;
}

export const OffsetFetchResponse = [
  field('throttleTimeMs', 'int32', '3+'),
  field('topics', array([
    field('name', 'string'),
    field('partitions', array([
      field('partitionIndex', 'int32'),
      field('committedOffset', 'int64'),
      field('committedLeaderEpoch', 'int32', '5+', -1),
      field('metadata', 'nullableString'),
      field('errorCode', 'int16'),
    ])),
  ])),
  field('errorCode', 'int16', '2+'),
];
