import { ErrorCode } from '../protocol/errors.ts';
import { MetadataRequest, MetadataResponse, type MetadataTopic } from '../protocol/apis/metadata.ts';
import { NODE_ID } from '../broker/broker-state.ts';
import { topicNameProblem, type Topic } from '../log/topic-store.ts';
import { defineApi } from './api.ts';

function describe(topic: Topic): MetadataTopic {
  return {
    errorCode: ErrorCode.NONE,
    name: topic.name,
    isInternal: false,
    topicAuthorizedOperations: -2147483648,
    partitions: topic.partitions.map((log) => ({
      errorCode: ErrorCode.NONE,
      partitionIndex: log.partition,
      leaderId: NODE_ID,
      leaderEpoch: 0,
      replicaNodes: [NODE_ID],
      isrNodes: [NODE_ID],
      offlineReplicas: [],
    })),
  };
}

const missing = (name: string, errorCode: number): MetadataTopic =>
  ({ errorCode, name, isInternal: false, partitions: [], topicAuthorizedOperations: -2147483648 });

/** One broker, the controller and every partition's leader. Unknown topics are auto-created when allowed. */
export const metadata = defineApi<MetadataRequest, MetadataResponse>({
  key: 3,
  name: 'Metadata',
  minVersion: 0,
  maxVersion: 8,
  request: MetadataRequest,
  response: MetadataResponse,
  handle(request, { state, apiVersion }) {
    // v0: an empty list means every topic; v1+: null does, and an empty list means none.
    const all = request.topics === null || (apiVersion === 0 && request.topics.length === 0);
    // Before v4 there is no flag and the broker's own setting decides.
    const allowCreate = apiVersion < 4 || request.allowAutoTopicCreation;
    const topics = all
      ? state.topics.list().map(describe)
      : request.topics!.map(({ name }) => {
          if (topicNameProblem(name)) return missing(name, ErrorCode.INVALID_TOPIC_EXCEPTION);
          const topic = state.topicForUse(name, allowCreate);
          return topic ? describe(topic) : missing(name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        });
    return {
      throttleTimeMs: 0,
      brokers: [{ nodeId: NODE_ID, host: state.options.advertisedHost, port: state.port, rack: null }],
      clusterId: state.clusterId,
      controllerId: NODE_ID,
      topics,
      clusterAuthorizedOperations: -2147483648,
    };
  },
});
