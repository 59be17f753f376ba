/**
 * The collector's API, as the views read it: JSON over fetch with the bearer token, a refused token
 * asking for another and trying again, and errors carrying the API's catalogue code.
 */
import type { ApiErrorBody } from '../../collector/src/api/types.ts';
import { askForToken, forgetToken, storedToken } from './token.ts';

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string | null, message: string) {
    super(message);
  }
}

export function authHeaders(): Record<string, string> {
  const token = storedToken();
  return token === null ? {} : { authorization: `Bearer ${token}` };
}

/** GETs `path` (already encoded) and parses its JSON; on 401 asks for a token and tries once more per token given. */
export function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  return request<T>(path, { signal });
}

/** POSTs `body` as JSON to `path` and parses the answer; a refused token is asked for as for a GET. */
export function postJson<T>(path: string, body: unknown): Promise<T> {
  return request<T>(path, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
}

async function request<T>(path: string, init: RequestInit): Promise<T> {
  for (let refused = false; ; refused = true) {
    const response = await fetch(path, { ...init, headers: { accept: 'application/json', ...init.headers as Record<string, string>, ...authHeaders() } });
    if (response.status === 401) {
      if (storedToken() !== null) forgetToken();
      await askForToken(refused);
      continue;
    }
    if (!response.ok) {
      const answer = await response.json().catch(() => null) as ApiErrorBody | null;
      throw new ApiError(response.status, answer?.error?.code ?? null, answer?.error?.message ?? `the collector answered ${response.status}`);
    }
    return await response.json() as T;
  }
}

/** A query string from the parameters given (undefined ones left out). */
export function query(parameters: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(parameters)) if (value !== undefined) search.set(name, String(value));
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}
