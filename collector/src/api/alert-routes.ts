/**
 * The alert routes: firing and resolved alerts, one alert, and the two notes people add (acknowledge,
 * silence). Alerts are written by the collector that assembles; any collector on the database answers
 * these, and takes the notes.
 */
import type { FastifyInstance } from 'fastify';
import type { SpanStore } from '../store/store.ts';
import { ERRORS, chsError } from './errors.ts';
import { errorResponses, limitParameter, pathParameters, queryString, responseObject } from './schemas.ts';
import { toApiAlert } from './to-api-alert.ts';
import { FLOW_STATES } from '../core/stalls.ts';
import type { AcknowledgeAlertRequest, AlertDetailResponse, AlertResponse, AlertsResponse, ApiAlertFlow, ApiAlertState, SilenceAlertRequest } from './types.ts';

export const ALERTS_DEFAULT_LIMIT = 100;
export const ALERTS_MAX_LIMIT = 1000;
/** A silence lasts an hour unless told otherwise, and 30 days at most. */
const DEFAULT_SILENCE_MS = 3_600_000;
const MAX_SILENCE_MS = 30 * 86_400_000;
/** An alert id: its key's FNV-1a hash, then when the episode began, in base 36 (core/alerts.ts). */
const ALERT_ID_PATTERN = '^[0-9a-f]{8}-[0-9a-z]{1,12}$';

const string = { type: 'string' };
const number = { type: 'number' };
const nullableNumber = { type: ['number', 'null'] };

export const alertSchema = {
  $id: 'ApiAlert',
  ...responseObject({
    id: string,
    key: string,
    severity: { type: 'string', enum: ['critical', 'warning', 'info'] },
    state: { type: 'string', enum: ['firing', 'resolved'] },
    title: string,
    subject: string,
    flowCount: { type: 'integer' },
    peakFlows: { type: 'integer' },
    flowIds: { type: 'array', items: string },
    startsAtMs: number,
    endsAtMs: nullableNumber,
    quietSinceMs: nullableNumber,
    lastSeenMs: number,
    acknowledged: { anyOf: [responseObject({ atMs: number, by: string }), { type: 'null' }] },
    silencedUntilMs: nullableNumber,
    history: {
      type: 'array',
      items: {
        type: 'object', required: ['atMs', 'event', 'flows'], additionalProperties: false,
        properties: { atMs: number, event: { type: 'string', enum: ['fired', 'grew', 'acknowledged', 'silenced', 'resolved'] }, flows: { type: 'integer' }, by: string },
      },
    },
    deliveries: {
      type: 'array',
      items: responseObject({
        kind: { type: 'string', enum: ['firing', 'resolved'] }, receiver: string, outcome: { type: ['string', 'null'] }, attempts: { type: 'integer' },
        createdAtMs: number, settledAtMs: nullableNumber,
      }),
    },
  }, 'flows stuck the same way, as one alert'),
};

const alertIdParameter = pathParameters({ alertId: { type: 'string', pattern: ALERT_ID_PATTERN, description: 'an alert id, as GET /api/alerts gives it' } });
const byProperty = { type: 'string', minLength: 1, maxLength: 128, description: 'who, as they want it shown (default "api")' };
const oneAlert = { 200: responseObject({ alert: { $ref: 'ApiAlert#' } }, 'the alert'), ...errorResponses(ERRORS.ALERT_ID_INVALID, ERRORS.ALERT_NOT_FOUND) };
/** How many of an alert's flows its detail names with their business keys: a page to look through, not all 10,000. */
export const ALERT_FLOWS_SHOWN = 50;
const alertFlow = responseObject({
  flowId: string,
  businessKeys: { type: 'array', items: string },
  state: { type: 'string', enum: [...FLOW_STATES] },
});
const alertDetail = {
  200: responseObject({ alert: { $ref: 'ApiAlert#' }, flows: { type: 'array', items: alertFlow } }, 'the alert, and its first flows by business key'),
  ...errorResponses(ERRORS.ALERT_ID_INVALID, ERRORS.ALERT_NOT_FOUND),
};

export async function alertRoutes(app: FastifyInstance, options: { store: SpanStore }): Promise<void> {
  const alerts = options.store.alerts;
  app.addSchema(alertSchema);
  // the notes' bodies are optional: a POST without one is an empty body, not an invalid one
  const emptyBody = async (request: { body: unknown }) => {
    request.body ??= {};
  };

  app.get<{ Querystring: { state: ApiAlertState; limit: number } }>('/api/alerts', {
    schema: {
      tags: ['alerts'],
      summary: 'Alerts on stuck flows',
      description: 'Firing alerts (the default) or resolved ones, the latest to start first.',
      querystring: queryString({
        state: { type: 'string', enum: ['firing', 'resolved'], default: 'firing', description: 'firing (default) or resolved' },
        limit: limitParameter(ALERTS_MAX_LIMIT, ALERTS_DEFAULT_LIMIT),
      }),
      response: { 200: responseObject({ alerts: { type: 'array', items: { $ref: 'ApiAlert#' } } }, 'the alerts'), ...errorResponses(ERRORS.QUERY_LIMIT_INVALID, ERRORS.PARAMETER_INVALID) },
    },
  }, async (request): Promise<AlertsResponse> => ({ alerts: (await alerts.listAlerts(request.query.state, request.query.limit)).map(toApiAlert) }));

  app.get<{ Params: { alertId: string } }>('/api/alerts/:alertId', {
    schema: {
      tags: ['alerts'],
      summary: 'One alert, with its history, deliveries and first flows',
      description: `Its first ${ALERT_FLOWS_SHOWN} flows (in flowIds order) come with their business keys and states, so a person finds the orders.`,
      params: alertIdParameter,
      response: alertDetail,
    },
  }, async (request): Promise<AlertDetailResponse> => {
    const { alert } = found(request.params.alertId, await alerts.alert(request.params.alertId));
    const shown = alert.flowIds.slice(0, ALERT_FLOWS_SHOWN);
    const stored = shown.length === 0 ? [] : (await options.store.flows.searchFlows({ flowIds: shown, limit: shown.length })).flows;
    const byId = new Map(stored.map((flow) => [flow.flowId, flow]));
    const flows = shown.flatMap((flowId): ApiAlertFlow[] => {
      const flow = byId.get(flowId);
      return flow === undefined ? [] : [{ flowId, businessKeys: flow.businessKeys, state: flow.state }];
    });
    return { alert, flows };
  });

  app.post<{ Params: { alertId: string }; Body: AcknowledgeAlertRequest | undefined }>('/api/alerts/:alertId/ack', {
    schema: {
      tags: ['alerts'],
      summary: 'Acknowledge an alert',
      description: 'Notes who looks at it (in its history); it changes neither its state nor its notifications.',
      params: alertIdParameter,
      body: bodyOf({ by: byProperty }),
      response: oneAlert,
    },
    preValidation: emptyBody,
  }, async (request): Promise<AlertResponse> => {
    const { alertId } = request.params;
    return found(alertId, await alerts.acknowledgeAlert(alertId, request.body?.by ?? 'api', Date.now()));
  });

  app.post<{ Params: { alertId: string }; Body: SilenceAlertRequest | undefined }>('/api/alerts/:alertId/silence', {
    schema: {
      tags: ['alerts'],
      summary: 'Silence an alert',
      description: 'Holds its webhook and Slack notifications back for `forMs`; 0 lifts the silence. When it ends, what is still '
        + 'owed goes out, except an episode that began and ended within it, which is settled `silenced`. '
        + 'Alertmanager receivers are still told: silence there with its own silences.',
      params: alertIdParameter,
      body: bodyOf({ forMs: { type: 'integer', minimum: 0, maximum: MAX_SILENCE_MS, description: 'default an hour' }, by: byProperty }),
      response: oneAlert,
    },
    preValidation: emptyBody,
  }, async (request): Promise<AlertResponse> => {
    const { alertId } = request.params;
    const nowMs = Date.now();
    const untilMs = nowMs + (request.body?.forMs ?? DEFAULT_SILENCE_MS);
    return found(alertId, await alerts.silenceAlert(alertId, untilMs, request.body?.by ?? 'api', nowMs));
  });
}

/** A JSON body taking exactly these fields: an unknown one (a typo) is refused, not dropped. */
function bodyOf(properties: Record<string, object>) {
  return { type: 'object', properties, propertyNames: { enum: Object.keys(properties) } };
}

function found(alertId: string, alert: Parameters<typeof toApiAlert>[0] | null): AlertResponse {
  if (alert === null) throw chsError(ERRORS.ALERT_NOT_FOUND, { alertId });
  return { alert: toApiAlert(alert) };
}
