import { array, field } from '../schema.ts';

export interface FetchRequest {
  replicaId: number;
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
  isolationLevel: number;
  sessionId: number;
  sessionEpoch: number;
  topics: {
    topic: string;
    partitions: { partition: number; currentLeaderEpoch: number; fetchOffset: number; logStartOffset: number; partitionMaxBytes: number }[];
  }[];
  forgottenTopicsData: { topic: string; partitions: number[] }[];
  rackId: string;
}

export const FetchRequest = [
  field('replicaId', 'int32'),
  field('maxWaitMs', 'int32'),
  field('minBytes', 'int32'),
  field('maxBytes', 'int32', '3+', 0x7fffffff),
  field('isolationLevel', 'int8', '4+'),
  field('sessionId', 'int32', '7+', 0),
  field('sessionEpoch', 'int32', '7+', -1),
  field('topics', array([
    field('topic', 'string'),
    field('partitions', array([
      field('partition', 'int32'),
      field('currentLeaderEpoch', 'int32', '9+', -1),
      field('fetchOffset', 'int64'),
      field('logStartOffset', 'int64', '5+', -1),
      field('partitionMaxBytes', 'int32'),
    ])),
  ])),
  field('forgottenTopicsData', array([field('topic', 'string'), field('partitions', array('int32'))]), '7+'),
  field('rackId', 'string', '11+'),
];

export interface FetchPartitionResponse {
  partition: number;
  errorCode: number;
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
  abortedTransactions: { producerId: number; firstOffset: number }[] | null;
  preferredReadReplica: number;
  records: Buffer[] | null;
}

export interface FetchResponse {
  throttleTimeMs: number;
  errorCode: number;
  sessionId: number;
  responses: { topic: string; partitions: FetchPartitionResponse[] }[];
}

export const FetchResponse = [
  field('throttleTimeMs', 'int32', '1+'),
  field('errorCode', 'int16', '7+'),
  field('sessionId', 'int32', '7+'),
  field('responses', array([
    field('topic', 'string'),
    field('partitions', array([
      field('partition', 'int32'),
      field('errorCode', 'int16'),
      field('highWatermark', 'int64'),
      field('lastStableOffset', 'int64', '4+', -1),
      field('logStartOffset', 'int64', '5+', -1),
      field('abortedTransactions', array([field('producerId', 'int64'), field('firstOffset', 'int64')], '4+'), '4+'),
      field('preferredReadReplica', 'int32', '11+', -1),
      field('records', 'records'),
    ])),
  ])),
];
