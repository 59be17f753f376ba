import { field } from '../schema.ts';

export const COORDINATOR_KEY_GROUP = 0;
export const COORDINATOR_KEY_TRANSACTION = 1;

export interface FindCoordinatorRequest {
  key: string;
  keyType: number;
}

export const FindCoordinatorRequest = [field('key', 'string'), field('keyType', 'int8', '1+')];

export interface FindCoordinatorResponse {
  throttleTimeMs: number;
  errorCode: number;
  errorMessage: string | null;
  nodeId: number;
  host: string;
  port: number;
}

export const FindCoordinatorResponse = [
  field('throttleTimeMs', 'int32', '1+'),
  field('errorCode', 'int16'),
  field('errorMessage', 'nullableString', '1+', null),
  field('nodeId', 'int32'),
  field('host', 'string'),
  field('port', 'int32'),
];
