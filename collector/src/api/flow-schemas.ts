/**
 * The JSON schemas of the flow routes' parameters and answers (see schemas.ts for how they are used):
 * they mirror the flow part of types.ts, and a test checks real answers against them.
 */
import { ANOMALY_TYPES } from '../core/flow.ts';
import { FLOW_STATES } from '../core/stalls.ts';
import { responseObject } from './schemas.ts';

export const FLOW_ID_PATTERN = '^[0-9a-fA-F]{32}-[0-9a-fA-F]{16}$';

export const flowIdParameter = {
  type: 'string', pattern: FLOW_ID_PATTERN,
  description: "a flow id: its anchor span's trace id and span id, `<32 hex digits>-<16 hex digits>`",
};
export const anomalyParameter = { type: 'string', enum: ANOMALY_TYPES, description: 'flows with an anomaly of this type' };
export const stateParameter = { type: 'string', enum: FLOW_STATES, description: 'flows in this state (running, late, stalled, completed, failed, compensated)' };
export const textFilterParameter = (description: string) => ({ type: 'string', minLength: 1, maxLength: 512, description });

const string = { type: 'string' };
const nullableString = { type: ['string', 'null'] };
const number = { type: 'number' };
const strings = { type: 'array', items: string };
const joinReason = { type: 'string', enum: ['parent', 'link', 'message', 'key'] };
const spanRef = responseObject({ traceId: { type: 'string', pattern: '^[0-9a-f]{32}$' }, spanId: { type: 'string', pattern: '^[0-9a-f]{16}$' } });

export const flowSummarySchema = {
  $id: 'FlowSummary',
  ...responseObject({
    flowId: string,
    businessKeys: strings,
    traceIds: strings,
    traceCount: { type: 'integer' },
    firstEventMs: { type: 'number', description: 'start of its earliest span, milliseconds since the Unix epoch' },
    lastEventMs: { type: 'number', description: 'end of its latest span' },
    durationMs: number,
    services: strings,
    eventTypes: strings,
    spanCount: { type: 'integer' },
    errorCount: { type: 'integer' },
    hopCount: { type: 'integer' },
    pendingHops: { type: 'integer' },
    anomalies: { type: 'array', items: { type: 'string', enum: ANOMALY_TYPES } },
    droppedSpans: { type: 'integer' },
    state: { type: 'string', enum: FLOW_STATES },
    explanation: { anyOf: [{ $ref: 'Explanation#' }, { type: 'null' }] },
    expectedCompletionMs: { type: ['number', 'null'], description: 'when it should reach its end along the likeliest path' },
  }, 'one business flow'),
};

export const latencySchema = responseObject({
  count: { type: 'integer' },
  p50Ms: { type: ['number', 'null'] },
  p90Ms: { type: ['number', 'null'] },
  p99Ms: { type: ['number', 'null'] },
  p999Ms: { type: ['number', 'null'] },
}, 'a latency as learned, in milliseconds');

/** Why a flow is late, stalled or failed: the fields depend on `kind` (types.ts, ApiExplanation). */
export const explanationSchema = {
  $id: 'Explanation',
  type: 'object',
  required: ['kind', 'message', 'sinceMs'],
  properties: {
    kind: { type: 'string', enum: ['consumer', 'next-event', 'failure'] },
    message: { type: 'string', description: 'one sentence for a person' },
    sinceMs: number,
    afterEventType: string,
    afterService: nullableString,
    awaitedEventTypes: strings,
    awaitedService: nullableString,
    consumerGroup: nullableString,
    usual: latencySchema,
    learned: { type: 'boolean' },
    declared: { type: 'boolean' },
    lateAtMs: number,
    overdueMs: number,
    handledWithoutSending: {
      anyOf: [
        responseObject({ consumerGroup: string, service: string, atMs: number, sendShare: number }, 'a handling that ended without sending, by a group that always sends'),
        { type: 'null' },
      ],
    },
    passedOver: {
      anyOf: [
        responseObject({ consumerGroup: string, topic: string, partition: string, offset: string, laterOffset: string, laterAtMs: number },
          'a later message of the partition the awaited group handled, not this one'),
        { type: 'null' },
      ],
    },
    service: string,
    eventType: nullableString,
  },
  additionalProperties: false,
  description: 'what a late or stalled flow waits for, or where it failed',
};

export const modelStepSchema = responseObject({
  eventType: string,
  producers: { type: 'array', items: responseObject({ service: string, count: number }) },
  occurrences: number,
  trusted: { type: 'boolean' },
  terminal: { type: ['string', 'null'], enum: ['completed', 'compensated', null] },
  consumers: {
    type: 'array',
    items: responseObject({
      group: string, service: string, count: number, probability: number, awaited: { type: 'boolean' }, wait: latencySchema,
      untilHandled: latencySchema, handling: latencySchema, attempts: number, failedAttempts: number, handled: number, sentNext: number, awaitsSend: { type: 'boolean' },
    }),
  },
  transitions: { type: 'array', items: responseObject({ eventType: string, count: number, probability: number, latency: latencySchema }) },
  endedHere: number,
}, 'one event type: who sends it, who handles it, what follows it');

export const hopSchema = {
  $id: 'Hop',
  ...responseObject({
    kind: { type: 'string', enum: ['delivery', 'step'] },
    from: { anyOf: [spanRef, { type: 'null' }] },
    to: spanRef,
    joinedBy: { anyOf: [joinReason, { type: 'null' }] },
    pending: { type: 'boolean' },
    destination: nullableString,
    eventType: nullableString,
    fromService: nullableString,
    toService: string,
    consumerGroup: nullableString,
    attempt: { type: ['integer', 'null'] },
    waitMs: { type: ['number', 'null'] },
    processingMs: number,
    clockSkew: { type: 'boolean' },
  }, 'a delivery (producer to consumer) or a step (consumer to the event its handling sent)'),
};

/** Anomalies differ by type; each has these, and the fields of its type (types.ts, ApiAnomaly). */
export const anomalySchema = {
  $id: 'Anomaly',
  type: 'object',
  required: ['type', 'severity', 'message'],
  properties: {
    type: { type: 'string', enum: ANOMALY_TYPES },
    severity: { type: 'string', enum: ['info', 'warning'] },
    message: string,
  },
  additionalProperties: true,
  description: 'one anomaly of the flow; the other fields depend on its type',
};

export const consumerSchema = responseObject({
  span: { $ref: 'ApiSpan#' },
  consumerGroup: string,
  joinedBy: joinReason,
  waitMs: { type: ['number', 'null'] },
  attempt: { type: ['integer', 'null'] },
  clockSkew: { type: 'boolean' },
});

export const propagationGapSchema = responseObject({
  service: string,
  destination: nullableString,
  lostHops: { type: 'integer' },
  flows: { type: 'integer' },
  matchedBy: responseObject({ message: { type: 'integer' }, key: { type: 'integer' }, none: { type: 'integer' } }),
  exampleFlowId: string,
  lastSeenMs: number,
  message: string,
});
