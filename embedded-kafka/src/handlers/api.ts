import type { BrokerState } from '../broker/broker-state.ts';
import type { Field } from '../protocol/schema.ts';

export interface RequestContext {
  state: BrokerState;
  apiVersion: number;
  clientId: string;
}

/**
 * One API the broker implements: the versions it advertises through ApiVersions, the schemas of its
 * request and response, and the handler. A handler returning null sends no response (acks=0 produce).
 */
export interface Api<Request = any, Response = any> {
  key: number;
  name: string;
  minVersion: number;
  maxVersion: number;
  request: Field[];
  response: Field[];
  handle(request: Request, context: RequestContext): Response | null | Promise<Response | null>;
}

export function defineApi<Request, Response>(api: Api<Request, Response>): Api<Request, Response> {
  return api;
}
