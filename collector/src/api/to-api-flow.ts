/**
 * The core's flow shapes as the API answers them. They match field for field today, and the compiler
 * holds them to it: a core type that stops fitting its API type fails to build here, so the contract
 * (types.ts, which the dashboard imports) cannot drift unnoticed.
 */
import type { Anomaly, Hop } from '../core/flow.ts';
import type { ModelSnapshot } from '../core/model.ts';
import type { StoredFlow } from '../store/flow-store.ts';
import type { ApiAnomaly, ApiHop, FlowSummary, ModelResponse } from './types.ts';

/** A stored flow as the API answers it at `nowMs`: how overdue a late or stalled flow is, as of now. */
export function toFlowSummary(flow: StoredFlow, nowMs: number): FlowSummary {
  const explanation = flow.explanation;
  if (explanation === null || explanation.kind === 'failure') return { ...flow, explanation };
  // stored before handlings that end without sending, or messages passed over, were judged: none was
  return {
    ...flow,
    explanation: {
      ...explanation, handledWithoutSending: explanation.handledWithoutSending ?? null, passedOver: explanation.passedOver ?? null,
      overdueMs: Math.max(0, nowMs - explanation.lateAtMs),
    },
  };
}
export const toModelResponse = (snapshot: ModelSnapshot, savedAtMs: number | null): ModelResponse => ({ savedAtMs, ...snapshot });
export const toApiHop = (hop: Hop): ApiHop => hop;
export const toApiAnomaly = (anomaly: Anomaly): ApiAnomaly => anomaly;
