import { ErrorCode } from '../protocol/errors.ts';
import {
  AddOffsetsToTxnRequest, AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, EndTxnRequest, InitProducerIdRequest,
  InitProducerIdResponse, TxnErrorResponse, TxnOffsetCommitRequest, TxnOffsetCommitResponse,
} from '../protocol/apis/transactions.ts';
import { defineApi } from './api.ts';

/** A producer id for an idempotent producer, or the (fenced) id behind a transactional id. */
export const initProducerId = defineApi<InitProducerIdRequest, InitProducerIdResponse>({
  key: 22,
  name: 'InitProducerId',
  minVersion: 0,
  maxVersion: 1,
  request: InitProducerIdRequest,
  response: InitProducerIdResponse,
  handle(request, { state }) {
    return { throttleTimeMs: 0, ...state.transactions.initProducerId(request.transactionalId, request.transactionTimeoutMs) };
  },
});

export const addPartitionsToTxn = defineApi<AddPartitionsToTxnRequest, AddPartitionsToTxnResponse>({
  key: 24,
  name: 'AddPartitionsToTxn',
  minVersion: 0,
  maxVersion: 2,
  request: AddPartitionsToTxnRequest,
  response: AddPartitionsToTxnResponse,
  handle(request, { state }) {
    return {
      throttleTimeMs: 0,
      results: request.topics.map((t) => {
        const errors = state.transactions.addPartitions(request, t.partitions.map((partition) => ({ topic: t.name, partition })));
        return { name: t.name, results: t.partitions.map((partitionIndex, i) => ({ partitionIndex, errorCode: errors[i]! })) };
      }),
    };
  },
});

export const addOffsetsToTxn = defineApi<AddOffsetsToTxnRequest, TxnErrorResponse>({
  key: 25,
  name: 'AddOffsetsToTxn',
  minVersion: 0,
  maxVersion: 2,
  request: AddOffsetsToTxnRequest,
  response: TxnErrorResponse,
  handle(request, { state }) {
    return { throttleTimeMs: 0, errorCode: state.transactions.addOffsets(request) };
  },
});

export const endTxn = defineApi<EndTxnRequest, TxnErrorResponse>({
  key: 26,
  name: 'EndTxn',
  minVersion: 0,
  maxVersion: 2,
  request: EndTxnRequest,
  response: TxnErrorResponse,
  handle(request, { state }) {
    return { throttleTimeMs: 0, errorCode: state.transactions.end(request, request.committed) };
  },
});

/** Offsets committed inside a transaction become visible to the group only when it commits. */
export const txnOffsetCommit = defineApi<TxnOffsetCommitRequest, TxnOffsetCommitResponse>({
  key: 28,
  name: 'TxnOffsetCommit',
  minVersion: 0,
  maxVersion: 2,
  request: TxnOffsetCommitRequest,
  response: TxnOffsetCommitResponse,
  handle(request, { state }) {
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partitionIndex: p.partitionIndex,
          errorCode: request.groupId === ''
            ? ErrorCode.INVALID_GROUP_ID
            : state.transactions.commitOffsets(request, request.groupId, t.name, p.partitionIndex, {
                offset: p.committedOffset,
                leaderEpoch: p.committedLeaderEpoch,
                metadata: p.committedMetadata,
              }),
        })),
      })),
    };
  },
});
