import { ErrorCode } from '../protocol/errors.ts';
import { ApiVersionsRequest, ApiVersionsResponse } from '../protocol/apis/api-versions.ts';
import { defineApi, type Api } from './api.ts';

/** The ApiVersions answer for a given table of APIs: what clients negotiate their versions from. */
export function advertised(apis: Api[]): ApiVersionsResponse['apiKeys'] {
  return apis.map((a) => ({ apiKey: a.key, minVersion: a.minVersion, maxVersion: a.maxVersion })).sort((a, b) => a.apiKey - b.apiKey);
}

export function apiVersionsFor(apis: () => Api[]) {
  return defineApi<Record<string, never>, ApiVersionsResponse>({
    key: 18,
    name: 'ApiVersions',
    minVersion: 0,
    maxVersion: 2,
    request: ApiVersionsRequest,
    response: ApiVersionsResponse,
    handle() {
      return { errorCode: ErrorCode.NONE, apiKeys: advertised(apis()), throttleTimeMs: 0 };
    },
  });
}
