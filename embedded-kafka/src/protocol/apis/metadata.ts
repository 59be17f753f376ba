import { array, field } from '../schema.ts';

export interface MetadataRequest {
  /** null (v1+) asks for every topic; in v0 an empty list does. */
  topics: { name: string }[] | null;
  allowAutoTopicCreation: boolean;
  includeClusterAuthorizedOperations: boolean;
  includeTopicAuthorizedOperations: boolean;
}

export const MetadataRequest = [
  field('topics', array([field('name', 'string')], '1+')),
  field('allowAutoTopicCreation', 'boolean', '4+', true),
  field('includeClusterAuthorizedOperations', 'boolean', '8+'),
  field('includeTopicAuthorizedOperations', 'boolean', '8+'),
];

export interface MetadataPartition {
  errorCode: number;
  partitionIndex: number;
  leaderId: number;
  leaderEpoch: number;
  replicaNodes: number[];
  isrNodes: number[];
  offlineReplicas: number[];
}

export interface MetadataTopic {
  errorCode: number;
  name: string;
  isInternal: boolean;
  partitions: MetadataPartition[];
  topicAuthorizedOperations: number;
}

export interface MetadataResponse {
  throttleTimeMs: number;
  brokers: { nodeId: number; host: string; port: number; rack: string | null }[];
  clusterId: string | null;
  controllerId: number;
  topics: MetadataTopic[];
  clusterAuthorizedOperations: number;
}

/** "Not requested" for the authorized-operations bit fields. */
export const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

export const MetadataResponse = [
  field('throttleTimeMs', 'int32', '3+'),
  field('brokers', array([
    field('nodeId', 'int32'),
    field('host', 'string'),
    field('port', 'int32'),
    field('rack', 'nullableString', '1+', null),
  ])),
  field('clusterId', 'nullableString', '2+', null),
  field('controllerId', 'int32', '1+', -1),
  field('topics', array([
    field('errorCode', 'int16'),
    field('name', 'string'),
    field('isInternal', 'boolean', '1+'),
    field('partitions', array([
      field('errorCode', 'int16'),
      field('partitionIndex', 'int32'),
      field('leaderId', 'int32'),
      field('leaderEpoch', 'int32', '7+', -1),
      field('replicaNodes', array('int32')),
      field('isrNodes', array('int32')),
      field('offlineReplicas', array('int32'), '5+'),
    ])),
    field('topicAuthorizedOperations', 'int32', '8+', AUTHORIZED_OPERATIONS_OMITTED),
  ])),
  field('clusterAuthorizedOperations', 'int32', '8+', AUTHORIZED_OPERATIONS_OMITTED),
];
