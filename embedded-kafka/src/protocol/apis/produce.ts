import { array, field } from '../schema.ts';

export interface ProduceRequest {
  transactionalId: string | null;
  acks: number;
  timeoutMs: number;
  topicData: { name: string; partitionData: { index: number; records: Buffer | null }[] }[];
}

export const ProduceRequest = [
  field('transactionalId', 'nullableString', '3+', null),
  field('acks', 'int16'),
  field('timeoutMs', 'int32'),
  field('topicData', array([
    field('name', 'string'),
    field('partitionData', array([field('index', 'int32'), field('records', 'records')])),
  ])),
];

export interface ProducePartitionResponse {
  index: number;
  errorCode: number;
  baseOffset: number;
  logAppendTimeMs: number;
  logStartOffset: number;
  recordErrors: { batchIndex: number; batchIndexErrorMessage: string | null }[];
  errorMessage: string | null;
}

export interface ProduceResponse {
  responses: { name: string; partitionResponses: ProducePartitionResponse[] }[];
  throttleTimeMs: number;
}

export const ProduceResponse = [
  field('responses', array([
    field('name', 'string'),
    field('partitionResponses', array([
      field('index', 'int32'),
      field('errorCode', 'int16'),
      field('baseOffset', 'int64'),
      field('logAppendTimeMs', 'int64', '2+', -1),
      field('logStartOffset', 'int64', '5+', -1),
      field('recordErrors', array([field('batchIndex', 'int32'), field('batchIndexErrorMessage', 'nullableString')]), '8+'),
      field('errorMessage', 'nullableString', '8+', null),
    ])),
  ])),
  field('throttleTimeMs', 'int32', '1+'),
];
