import { array, field } from '../schema.ts';

export interface CreateTopicsRequest {
  topics: {
    name: string;
    numPartitions: number;
    replicationFactor: number;
    assignments: { partitionIndex: number; brokerIds: number[] }[];
    configs: { name: string; value: string | null }[];
  }[];
  timeoutMs: number;
  validateOnly: boolean;
}

export const CreateTopicsRequest = [
  field('topics', array([
    field('name', 'string'),
    field('numPartitions', 'int32'),
    field('replicationFactor', 'int16'),
    field('assignments', array([field('partitionIndex', 'int32'), field('brokerIds', array('int32'))])),
    field('configs', array([field('name', 'string'), field('value', 'nullableString')])),
  ])),
  field('timeoutMs', 'int32'),
  field('validateOnly', 'boolean', '1+'),
];

export interface CreateTopicsResponse {
  throttleTimeMs: number;
  topics: { name: string; errorCode: number; errorMessage: string | null }[];
}

export const CreateTopicsResponse = [
  field('throttleTimeMs', 'int32', '2+'),
  field('topics', array([
    field('name', 'string'),
    field('errorCode', 'int16'),
    field('errorMessage', 'nullableString', '1+', null),
  ])),
];

export interface DeleteTopicsRequest {
  topicNames: string[];
  timeoutMs: number;
}

export const DeleteTopicsRequest = [field('topicNames', array('string')), field('timeoutMs', 'int32')];

export interface DeleteTopicsResponse {
  throttleTimeMs: number;
  responses: { name: string; errorCode: number }[];
}

export const DeleteTopicsResponse = [
  field('throttleTimeMs', 'int32', '1+'),
  field('responses', array([field('name', 'string'), field('errorCode', 'int16')])),
];
