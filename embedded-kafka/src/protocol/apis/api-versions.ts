import { array, field } from '../schema.ts';

export const ApiVersionsRequest = [
  // v3+ (flexible) adds client software name/version; not advertised.
];

export interface ApiVersionsResponse {
  errorCode: number;
  apiKeys: { apiKey: number; minVersion: number; maxVersion: number }[];
  throttleTimeMs?: number;
}

export const ApiVersionsResponse = [
  field('errorCode', 'int16'),
  field('apiKeys', array([field('apiKey', 'int16'), field('minVersion', 'int16'), field('maxVersion', 'int16')])),
  field('throttleTimeMs', 'int32', '1+'),
];
