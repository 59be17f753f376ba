/**
 * The flow routes: the list with its filters, one flow with its spans, hops and anomalies, the
 * consumers of a producer span, where trace context is lost, and the learned choreography. A flow is described (core/describe-flow.ts)
 * from its stored spans when it is asked for, with the same function and options as assembly uses, so
 * its hops and anomalies are current to the request's time.
 */
import type { FastifyInstance } from 'fastify';
import { describeFlow, type DescribeOptions } from '../core/describe-flow.ts';
import { anchorOf, type AnomalyType } from '../core/flow.ts';
import { toFlowSpan } from '../core/flow-span.ts';
import { ChoreographyModel, type ModelOptions } from '../core/model.ts';
import { spanKey, type SpanRecord } from '../core/span.ts';
import type { FlowState } from '../core/stalls.ts';
import { cleanText } from '../core/stored-text.ts';
import type { FlowSearch } from '../store/flow-store.ts';
import type { SpanStore } from '../store/store.ts';
import { ERRORS, chsError } from './errors.ts';
import { decodeFlowCursor, encodeFlowCursor } from './flow-cursor.ts';
import {
  anomalyParameter, anomalySchema, consumerSchema, explanationSchema, flowIdParameter, flowSummarySchema, hopSchema, modelStepSchema,
  propagationGapSchema, stateParameter, textFilterParameter,
} from './flow-schemas.ts';
import {
  businessKeyParameter, cursorParameter, errorResponses, limitParameter, nextCursor, pathParameters, queryString, responseObject,
  serviceParameter, spanIdParameter, timeParameter, traceIdParameter,
} from './schemas.ts';
import { parseTime } from './search-query.ts';
import { toApiAnomaly, toApiHop, toFlowSummary, toModelResponse } from './to-api-flow.ts';
import { toApiSpan } from './to-api-span.ts';
import type { FlowResponse, FlowsResponse, ModelResponse, PropagationDiagnosticsResponse, SpanConsumersResponse } from './types.ts';

export interface FlowRoutesOptions {
  store: SpanStore;
  /** How flows are described: the flow worker's options. */
  describe: DescribeOptions;
  /** How the choreography is learned: the flow worker's options. */
  model?: ModelOptions;
}

export const FLOWS_DEFAULT_LIMIT = 100;
export const FLOWS_MAX_LIMIT = 1000;
/** What the propagation diagnostics look back over when given no start: a day. */
const DIAGNOSTICS_DEFAULT_WINDOW_MS = 86_400_000;

interface FlowsParameters {
  businessKey?: string;
  traceId?: string;
  service?: string;
  eventType?: string;
  anomaly?: AnomalyType;
  state?: FlowState;
  start?: string;
  end?: string;
  limit: number;
  cursor?: string;
}

const flowList = { type: 'array', items: { $ref: 'FlowSummary#' } };

export async function flowRoutes(app: FastifyInstance, options: FlowRoutesOptions): Promise<void> {
  const { store } = options;
  const flows = store.flows;
  const maxFlowSpans = options.describe.maxFlowSpans ?? 10_000;
  app.addSchema(explanationSchema);
  app.addSchema(flowSummarySchema);
  app.addSchema(hopSchema);
  app.addSchema(anomalySchema);

  app.get<{ Querystring: FlowsParameters }>('/api/flows', {
    schema: {
      tags: ['flows'],
      summary: 'Search flows',
      description: 'Business flows, newest activity (last event) first, a page at a time; every filter given must hold. '
        + '`start`/`end` bound activity: a flow is in when its last event is at or after `start` and its first before `end`.',
      querystring: queryString({
        businessKey: businessKeyParameter,
        traceId: { ...traceIdParameter, description: 'flows holding a span of this trace' },
        service: serviceParameter,
        eventType: textFilterParameter('flows carrying this event type'),
        anomaly: anomalyParameter,
        state: stateParameter,
        start: timeParameter('flows active at or after this'),
        end: timeParameter('flows active before this'),
        limit: limitParameter(FLOWS_MAX_LIMIT, FLOWS_DEFAULT_LIMIT),
        cursor: cursorParameter,
      }),
      response: {
        200: responseObject({ flows: flowList, nextCursor }, 'a page of flows'),
        ...errorResponses(ERRORS.QUERY_PARAMETER_UNKNOWN, ERRORS.PARAMETER_INVALID, ERRORS.TRACE_ID_INVALID, ERRORS.BUSINESS_KEY_INVALID,
          ERRORS.QUERY_TIME_INVALID, ERRORS.QUERY_LIMIT_INVALID, ERRORS.QUERY_CURSOR_INVALID),
      },
    },
  }, async (request): Promise<FlowsResponse> => {
    const page = await flows.searchFlows(toFlowSearch(request.query));
    const nowMs = Date.now();
    return { flows: page.flows.map((flow) => toFlowSummary(flow, nowMs)), nextCursor: page.next === null ? null : encodeFlowCursor(page.next) };
  });

  app.get<{ Params: { flowId: string } }>('/api/flows/:flowId', {
    schema: {
      tags: ['flows'],
      summary: 'One flow',
      description: 'The flow with its spans in causal order (a parent before its child when their start times tie), its hops '
        + '(deliveries and steps, each with how it was joined) and its anomalies. The id of a flow absorbed by another answers '
        + 'the surviving flow, whose id `flow.flowId` gives.',
      params: pathParameters({ flowId: flowIdParameter }),
      response: {
        200: responseObject({
          flow: { $ref: 'FlowSummary#' },
          spans: { type: 'array', items: { $ref: 'ApiSpan#' } },
          hops: { type: 'array', items: { $ref: 'Hop#' } },
          anomalies: { type: 'array', items: { $ref: 'Anomaly#' } },
        }, 'the flow'),
        ...errorResponses(ERRORS.FLOW_ID_INVALID, ERRORS.FLOW_NOT_FOUND),
      },
    },
  }, async (request): Promise<FlowResponse> => {
    const anchor = anchorOf(request.params.flowId.toLowerCase())!; // the schema checked its form
    const described = await describeFlowOf(anchor.traceId, anchor.spanId);
    if (described === null) throw chsError(ERRORS.FLOW_NOT_FOUND, { flowId: request.params.flowId });
    const { description, records } = described;
    // where it stands is judged by the collector that assembles, against the model it learned: as stored
    const standing = await flows.standingOf(description.facts.flowId) ?? { state: 'running', explanation: null, expectedCompletionMs: null };
    return {
      flow: toFlowSummary({ ...description.facts, ...standing }, Date.now()),
      spans: description.spans.map((span) => toApiSpan(records.get(span.key)!)),
      hops: description.hops.map(toApiHop),
      anomalies: description.anomalies.map(toApiAnomaly),
    };
  });

  app.get<{ Params: { traceId: string; spanId: string } }>('/api/spans/:traceId/:spanId/consumers', {
    schema: {
      tags: ['flows'],
      summary: "A producer span's consumers",
      description: 'Every consumer span of the message this producer span sent, in every consumer group, with how each was joined '
        + '(parent, link, Kafka message or business key): the way back from a producer to what it caused, among the flow\'s '
        + 'described spans (its earliest `--max-flow-spans`). Empty while the span is not assembled into a flow yet (`flowId` null).',
      params: pathParameters({ traceId: traceIdParameter, spanId: spanIdParameter }),
      response: {
        200: responseObject({
          producer: { $ref: 'ApiSpan#' },
          flowId: { type: ['string', 'null'] },
          consumers: { type: 'array', items: consumerSchema },
        }, 'the consumers'),
        ...errorResponses(ERRORS.TRACE_ID_INVALID, ERRORS.SPAN_ID_INVALID, ERRORS.SPAN_NOT_FOUND),
      },
    },
  }, async (request): Promise<SpanConsumersResponse> => {
    const traceId = request.params.traceId.toLowerCase();
    const spanId = request.params.spanId.toLowerCase();
    const described = await describeFlowOf(traceId, spanId);
    const key = `${traceId}/${spanId}`;
    const producer = described?.records.get(key) ?? (await store.spansOfTrace(traceId)).find((span) => span.spanId === spanId);
    if (producer === undefined) throw chsError(ERRORS.SPAN_NOT_FOUND, { traceId, spanId });
    const consumers = (described?.description.hops ?? [])
      .filter((hop) => hop.kind === 'delivery' && !hop.pending && hop.from?.traceId === traceId && hop.from.spanId === spanId)
      .map((hop) => ({
        span: toApiSpan(described!.records.get(spanKey(hop.to))!),
        consumerGroup: hop.consumerGroup!,
        joinedBy: hop.joinedBy!,
        waitMs: hop.waitMs,
        attempt: hop.attempt,
        clockSkew: hop.clockSkew,
      }));
    return { producer: toApiSpan(producer), flowId: described === null ? null : described.description.facts.flowId, consumers };
  });

  app.get<{ Querystring: { start?: string; limit: number } }>('/api/diagnostics/propagation', {
    schema: {
      tags: ['flows'],
      summary: 'Where trace context is lost',
      description: 'Per consuming service and topic: the deliveries whose consumer started a new trace although its message could '
        + 'be matched (by Kafka message or business key), or that said the context was missing; how many, in how many flows, and '
        + 'an example flow. Over flows active since `start` (default: the last 24 hours), most lost first.',
      querystring: queryString({ start: timeParameter('flows active at or after this'), limit: limitParameter(1000, 100) }),
      response: {
        200: responseObject({ sinceMs: { type: 'number' }, gaps: { type: 'array', items: propagationGapSchema } }, 'the gaps'),
        ...errorResponses(ERRORS.QUERY_PARAMETER_UNKNOWN, ERRORS.QUERY_TIME_INVALID, ERRORS.QUERY_LIMIT_INVALID),
      },
    },
  }, async (request): Promise<PropagationDiagnosticsResponse> => {
    const sinceMs = request.query.start === undefined ? Date.now() - DIAGNOSTICS_DEFAULT_WINDOW_MS : parseTime('start', request.query.start);
    const gaps = await flows.propagationGaps(sinceMs, request.query.limit);
    return {
      sinceMs,
      gaps: gaps.map((gap) => ({
        ...gap,
        message: `context lost at ${gap.service}${gap.destination === null ? '' : ` on topic ${gap.destination}`}`,
      })),
    };
  });

  app.get('/api/model', {
    schema: {
      tags: ['flows'],
      summary: 'The learned choreography',
      description: 'Per event type, as learned from settled flows: who sends it, which consumer groups handle it (and which a flow '
        + 'waits for), the events that follow it with their probability, count and latency quantiles (a branch shows as several), '
        + 'and whether flows end there. `savedAtMs` is when the collector that assembles last saved it; null before anything was learned.',
      response: {
        200: responseObject({
          savedAtMs: { type: ['number', 'null'] },
          windowMs: { type: 'number' },
          minSamples: { type: 'number' },
          expectProbability: { type: 'number' },
          steps: { type: 'array', items: modelStepSchema },
        }, 'the model'),
        ...errorResponses(),
      },
    },
  }, async (): Promise<ModelResponse> => {
    const stored = await flows.storedModel();
    const model = stored === null ? new ChoreographyModel(options.model) : ChoreographyModel.fromJSON(stored.model, options.model);
    return toModelResponse(model.snapshot(Date.now()), stored?.savedAtMs ?? null);
  });

  /**
   * The flow holding a span, described now. The span's flow and that flow's spans are two reads: a round
   * that merges flows between them leaves the first naming a flow that is gone, so it is asked again.
   */
  async function describeFlowOf(traceId: string, spanId: string) {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const flowId = await flows.flowOfSpan(traceId, spanId);
      if (flowId === null) return null;
      const described = await describeStored(flowId);
      if (described !== null) return described;
    }
    return null;
  }

  /** A stored flow's spans (the earliest it describes), described now. */
  async function describeStored(flowId: string) {
    const { spans, total } = await flows.flowSpans(flowId, maxFlowSpans);
    if (spans.length === 0) return null;
    const records = new Map<string, SpanRecord>(spans.map((span) => [spanKey(span), span]));
    const keys = [...new Set(spans.flatMap((span) => (span.businessKey === null ? [] : [span.businessKey])))];
    const shared = new Set(await flows.sharedKeys(keys));
    const description = describeFlow(flowId, spans.map(toFlowSpan), Date.now(), {
      ...options.describe, isSharedKey: (key) => shared.has(key), totalSpans: total,
    });
    return { description, records };
  }
}

function toFlowSearch(query: FlowsParameters): FlowSearch {
  const search: FlowSearch = {
    businessKey: query.businessKey === undefined ? undefined : cleanText(query.businessKey),
    traceId: query.traceId?.toLowerCase(),
    service: query.service === undefined ? undefined : cleanText(query.service),
    eventType: query.eventType === undefined ? undefined : cleanText(query.eventType),
    anomaly: query.anomaly,
    state: query.state,
    activeFromMs: query.start === undefined ? undefined : parseTime('start', query.start),
    activeBeforeMs: query.end === undefined ? undefined : parseTime('end', query.end),
    after: query.cursor === undefined ? undefined : decodeFlowCursor(query.cursor),
    limit: query.limit,
  };
  if (search.activeFromMs !== undefined && search.activeBeforeMs !== undefined && search.activeFromMs >= search.activeBeforeMs) {
    throw chsError(ERRORS.QUERY_TIME_INVALID, { detail: `start (${query.start}) is not before end (${query.end})` });
  }
  return search;
}
