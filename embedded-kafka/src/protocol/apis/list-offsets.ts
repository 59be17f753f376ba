import { array, field } from '../schema.ts';

/** Special timestamps in a ListOffsets request. */
export const LATEST_TIMESTAMP = -1;
export const EARLIEST_TIMESTAMP = -2;

export interface ListOffsetsRequest {
  replicaId: number;
  isolationLevel: number;
  topics: { name: string; partitions: { partitionIndex: number; currentLeaderEpoch: number; timestamp: number }[] }[];
}

export const ListOffsetsRequest = [
  field('replicaId', 'int32'),
  field('isolationLevel', 'int8', '2+'),
  field('topics', array([
    field('name', 'string'),
    field('partitions', array([
      field('partitionIndex', 'int32'),
      field('currentLeaderEpoch', 'int32', '4+', -1),
      field('timestamp', 'int64'),
    ])),
  ])),
];

export interface ListOffsetsPartitionResponse {
  partitionIndex: number;
  errorCode: number;
  timestamp: number;
  offset: number;
  leaderEpoch: number;
}

export interface ListOffsetsResponse {
  throttleTimeMs: number;
  topics: { name: string; partitions: ListOffsetsPartitionResponse[] }[];
}

export const ListOffsetsResponse = [
  field('throttleTimeMs', 'int32', '2+'),
  field('topics', array([
    field('name', 'string'),
    field('partitions', array([
      field('partitionIndex', 'int32'),
      field('errorCode', 'int16'),
      field('timestamp', 'int64', '1+', -1),
      field('offset', 'int64', '1+', -1),
      field('leaderEpoch', 'int32', '4+', -1),
    ])),
  ])),
];
