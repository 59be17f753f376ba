import { ErrorCode } from '../protocol/errors.ts';
import { CreateTopicsRequest, CreateTopicsResponse, DeleteTopicsRequest, DeleteTopicsResponse } from '../protocol/apis/topics.ts';
import { topicNameProblem } from '../log/topic-store.ts';
import { defineApi } from './api.ts';

const MAX_PARTITIONS = 10_000;

export const createTopics = defineApi<CreateTopicsRequest, CreateTopicsResponse>({
  key: 19,
  name: 'CreateTopics',
  minVersion: 0,
  maxVersion: 4,
  request: CreateTopicsRequest,
  response: CreateTopicsResponse,
  handle(request, { state }) {
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((t) => {
        const fail = (errorCode: number, errorMessage: string) => ({ name: t.name, errorCode, errorMessage });
        const problem = topicNameProblem(t.name);
        if (problem) return fail(ErrorCode.INVALID_TOPIC_EXCEPTION, problem);
        if (state.topics.get(t.name)) return fail(ErrorCode.TOPIC_ALREADY_EXISTS, `topic ${t.name} already exists`);
        const partitions = t.assignments.length > 0 ? t.assignments.length : t.numPartitions === -1 ? state.options.defaultPartitions : t.numPartitions;
        if (partitions < 1 || partitions > MAX_PARTITIONS) return fail(ErrorCode.INVALID_PARTITIONS, `partition count ${partitions} must be 1-${MAX_PARTITIONS}`);
        if (t.replicationFactor !== -1 && t.replicationFactor !== 1) {
          return fail(ErrorCode.INVALID_REPLICATION_FACTOR, `replication factor ${t.replicationFactor} is larger than the 1 broker available`);
        }
        if (!request.validateOnly) {
          state.topics.create(t.name, partitions);
          state.log(`created topic ${t.name} with ${partitions} partition(s)`);
        }
        return { name: t.name, errorCode: ErrorCode.NONE, errorMessage: null };
      }),
    };
  },
});

export const deleteTopics = defineApi<DeleteTopicsRequest, DeleteTopicsResponse>({
  key: 20,
  name: 'DeleteTopics',
  minVersion: 0,
  maxVersion: 3,
  request: DeleteTopicsRequest,
  response: DeleteTopicsResponse,
  handle(request, { state }) {
    return {
      throttleTimeMs: 0,
      responses: request.topicNames.map((name) => {
        if (!state.topics.delete(name)) return { name, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
        state.offsets.forgetTopic(name);
        state.log(`deleted topic ${name}`);
        return { name, errorCode: ErrorCode.NONE };
      }),
    };
  },
});
