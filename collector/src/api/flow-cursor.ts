/**
 * The opaque `cursor` of a flow list: the position of the last flow it held (last event time, flow id),
 * base64url-encoded. Decoding checks every part, so a cursor this API did not give out is a 400.
 */
import type { FlowPosition } from '../store/flow-store.ts';
import { ERRORS, chsError } from './errors.ts';
import type { ApiCursor } from './types.ts';

const VERSION = 'f1';
const FLOW_ID = /^[0-9a-f]{32}-[0-9a-f]{16}$/;

export function encodeFlowCursor(position: FlowPosition): ApiCursor {
  return Buffer.from([VERSION, String(position.lastEventMs), position.flowId].join(' ')).toString('base64url');
}

export function decodeFlowCursor(cursor: ApiCursor): FlowPosition {
  const [version, time = '', flowId = '', ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split(' ');
  const lastEventMs = Number(time);
  if (version !== VERSION || rest.length > 0 || time === '' || !Number.isFinite(lastEventMs) || !FLOW_ID.test(flowId)) {
    throw chsError(ERRORS.QUERY_CURSOR_INVALID, { cursor: cursor.slice(0, 64) });
  }
  return { lastEventMs, flowId };
}
