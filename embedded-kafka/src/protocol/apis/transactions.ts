import { array, field } from '../schema.ts';

export interface InitProducerIdRequest {
  /** null: an idempotent producer outside transactions. */
  transactionalId: string | null;
  transactionTimeoutMs: number;
}

export const InitProducerIdRequest = [field('transactionalId', 'nullableString'), field('transactionTimeoutMs', 'int32')];

export interface InitProducerIdResponse {
  throttleTimeMs: number;
  errorCode: number;
  producerId: number;
  producerEpoch: number;
}

export const InitProducerIdResponse = [
  field('throttleTimeMs', 'int32'),
  field('errorCode', 'int16'),
  field('producerId', 'int64'),
  field('producerEpoch', 'int16'),
];

interface TransactionMember {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
}

export interface AddPartitionsToTxnRequest extends TransactionMember {
  topics: { name: string; partitions: number[] }[];
}

export const AddPartitionsToTxnRequest = [
  field('transactionalId', 'string'),
  field('producerId', 'int64'),
  field('producerEpoch', 'int16'),
  field('topics', array([field('name', 'string'), field('partitions', array('int32'))])),
];

export interface AddPartitionsToTxnResponse {
  throttleTimeMs: number;
  results: { name: string; results: { partitionIndex: number; errorCode: number }[] }[];
}

export const AddPartitionsToTxnResponse = [
  field('throttleTimeMs', 'int32'),
  field('results', array([
    field('name', 'string'),
    field('results', array([field('partitionIndex', 'int32'), field('errorCode', 'int16')])),
  ])),
];

export interface AddOffsetsToTxnRequest extends TransactionMember {
  groupId: string;
}

export const AddOffsetsToTxnRequest = [
  field('transactionalId', 'string'),
  field('producerId', 'int64'),
  field('producerEpoch', 'int16'),
  field('groupId', 'string'),
];

export interface EndTxnRequest extends TransactionMember {
  committed: boolean;
}

export const EndTxnRequest = [
  field('transactionalId', 'string'),
  field('producerId', 'int64'),
  field('producerEpoch', 'int16'),
  field('committed', 'boolean'),
];

/** AddOffsetsToTxn and EndTxn answer with an error code alone. */
export interface TxnErrorResponse {
  throttleTimeMs: number;
  errorCode: number;
}

export const TxnErrorResponse = [field('throttleTimeMs', 'int32'), field('errorCode', 'int16')];

export interface TxnOffsetCommitRequest extends TransactionMember {
  groupId: string;
  topics: { name: string; partitions: { partitionIndex: number; committedOffset: number; committedLeaderEpoch: number; committedMetadata: string | null }[] }[];
}

export const TxnOffsetCommitRequest = [
  field('transactionalId', 'string'),
  field('groupId', 'string'),
  field('producerId', 'int64'),
  field('producerEpoch', 'int16'),
  field('topics', array([
    field('name', 'string'),
    field('partitions', array([
      field('partitionIndex', 'int32'),
      field('committedOffset', 'int64'),
      field('committedLeaderEpoch', 'int32', '2+', -1),
      field('committedMetadata', 'nullableString'),
    ])),
  ])),
];

export interface TxnOffsetCommitResponse {
  throttleTimeMs: number;
  topics: { name: string; partitions: { partitionIndex: number; errorCode: number }[] }[];
}

export const TxnOffsetCommitResponse = [
  field('throttleTimeMs', 'int32'),
  field('topics', array([
    field('name', 'string'),
    field('partitions', array([field('partitionIndex', 'int32'), field('errorCode', 'int16')])),
  ])),
];
