/**
 * Every request and response shape of the collector's HTTP API, the one module the dashboard imports.
 * It imports nothing from the collector: these types are the contract, and `to-api-span.ts` maps the
 * core's records onto them. Times are milliseconds since the Unix epoch (fractional numbers).
 */

export type ApiAttributeValue = string | number | boolean | null | ApiAttributeValue[] | { [key: string]: ApiAttributeValue };
export type ApiAttributes = { [key: string]: ApiAttributeValue };

export type ApiSpanKind = 'unspecified' | 'internal' | 'server' | 'client' | 'producer' | 'consumer';
export type ApiStatusCode = 'unset' | 'ok' | 'error';

export interface ApiSpan {
  /** 32 lowercase hex digits. */
  traceId: string;
  /** 16 lowercase hex digits. */
  spanId: string;
  parentSpanId: string | null;
  name: string;
  kind: ApiSpanKind;
  startTimeMs: number;
  endTimeMs: number;
  status: { code: ApiStatusCode; message: string };
  serviceName: string;
  /** `choreoscope.business_key`, else `messaging.message.conversation_id`; null when neither is set. */
  businessKey: string | null;
  attributes: ApiAttributes;
  events: { name: string; timeMs: number; attributes: ApiAttributes }[];
  links: { traceId: string; spanId: string; attributes: ApiAttributes }[];
  resource: ApiAttributes;
  scope: { name: string; version: string };
}

/** GET /api/traces/:traceId — the trace's stored spans, by start time. */
export interface TraceResponse {
  traceId: string;
  spans: ApiSpan[];
}

/**
 * An answer's place in a paged listing: pass it back as `cursor` for the next page, with the same
 * filters. Opaque: built from the last span's (start time, trace id, span id), so pages neither repeat
 * nor skip a span while new ones arrive.
 */
export type ApiCursor = string;

/** GET /api/spans — a span search, newest first; every filter given must hold. */
export interface SpanSearchQuery {
  /** The service's name (`service.name`). */
  service?: string;
  /** The span's name. */
  operation?: string;
  /**
   * `key:value`, repeatable: the span attribute `key` (up to the first colon) equals `value`, as a string
   * or, when `value` reads as one, as a number or boolean (`attr=messaging.kafka.offset:42`).
   */
  attr?: string | string[];
  /** Spans starting at or after this: RFC 3339 with a time zone (`2025-01-31T12:00:00.5Z`) or epoch milliseconds. */
  start?: string;
  /** Spans starting before this, in the same forms. */
  end?: string;
  minDurationMs?: number;
  maxDurationMs?: number;
  businessKey?: string;
  status?: ApiStatusCode;
  /** 1 to 1000; default 100. */
  limit?: number;
  cursor?: ApiCursor;
}

export interface SpanSearchResponse {
  spans: ApiSpan[];
  /** The next page's `cursor`; null on the last page. */
  nextCursor: ApiCursor | null;
}

/** GET /api/services — every service that sent spans, by name. */
export interface ServicesResponse {
  services: ApiService[];
}

export interface ApiService {
  name: string;
  spanCount: number;
  /** The latest end time of its spans. */
  lastSeenMs: number;
}

/** GET /api/services/:service/operations — the service's span names with their kinds, by name then kind. */
export interface OperationsResponse {
  service: string;
  operations: ApiOperation[];
}

export interface ApiOperation {
  /** The span name. */
  name: string;
  kind: ApiSpanKind;
  spanCount: number;
}

/**
 * GET /api/links/:traceId/:spanId — the span's links, both ways: which spans link to it (who consumed
 * this producer span) and which stored spans it links to (which producers this consumer span read).
 * Each list by start time; empty when there is none, or none stored yet.
 */
export interface SpanLinksResponse {
  traceId: string;
  spanId: string;
  linkedBy: ApiSpan[];
  linksTo: ApiSpan[];
}

// ---- business flows -------------------------------------------------------------------------------

/**
 * A flow's id: `<traceId>-<spanId>` of its anchor, its earliest span. When flows merge, an absorbed
 * flow's id still answers (GET /api/flows/:flowId) with the surviving flow, under the survivor's id.
 */
export type ApiFlowId = string;

export interface ApiSpanRef {
  traceId: string;
  spanId: string;
}

/** How a hop's ends were tied, strongest first: same trace, a span link, the same Kafka message, the same business key. */
export type ApiJoinReason = 'parent' | 'link' | 'message' | 'key';

export type ApiAnomalyType =
  | 'fan-out' | 'fan-in' | 'duplicate-delivery' | 'retry' | 'out-of-order' | 'orphan-event' | 'propagation-gap' | 'clock-skew'
  | 'shared-key' | 'truncated';

/** One business flow (an order's causal chain across services, topics and traces), as lists show it. */
export interface FlowSummary {
  flowId: ApiFlowId;
  /** Distinct business keys of its spans, at most 64. */
  businessKeys: string[];
  /** Distinct trace ids in order of first appearance, at most 64; `traceCount` counts them all. */
  traceIds: string[];
  traceCount: number;
  /** Start of its earliest span, end of its latest (epoch milliseconds). */
  firstEventMs: number;
  lastEventMs: number;
  durationMs: number;
  services: string[];
  /** `choreoscope.event.type`, else CloudEvents' type, else the topic, in order of first appearance. */
  eventTypes: string[];
  spanCount: number;
  errorCount: number;
  hopCount: number;
  /** Deliveries whose producer span is named but has not arrived. */
  pendingHops: number;
  anomalies: ApiAnomalyType[];
  /** Spans beyond the most a flow describes (10,000 by default), counted but left out of its hops. */
  droppedSpans: number;
  /** Where it stands against the learned choreography (GET /api/model). */
  state: ApiFlowState;
  /** Why it is late, stalled or failed; null otherwise. */
  explanation: ApiExplanation | null;
  /** When it should reach its end along the likeliest path (epoch milliseconds); null when it has ended or nothing is learned yet. */
  expectedCompletionMs: number | null;
}

/**
 * `late`: an awaited step (the next event, or a consumer group that nearly always handles the event) took
 * longer than its learned p99; `stalled`: far longer (its p99.9 × 1.75); both counted from when the event
 * was sent plus the time spans take to reach the collector (10 s and the assembly backlog by default).
 * Before an event type is learned (20 occurrences), late after 60 s and stalled after 120 s. `failed`: a step
 * whose every attempt failed; `completed` and `compensated`: it reached a terminal event, of the main path
 * or of a compensation.
 */
export type ApiFlowState = 'running' | 'late' | 'stalled' | 'completed' | 'failed' | 'compensated';

/** A latency as learned: how many samples, and its quantiles in milliseconds (null before any sample). */
export interface ApiLatency {
  count: number;
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  p999Ms: number | null;
}

/** What a late or stalled flow waits for: "waiting for PaymentAuthorized from payment since 12:03:04, usually within 800 ms". */
export interface ApiWaitExplanation {
  /** consumer: a consumer group has not handled the event; next-event: nothing followed it. */
  kind: 'consumer' | 'next-event';
  afterEventType: string;
  afterService: string | null;
  /** consumer: the event itself; next-event: what may follow, most likely first. */
  awaitedEventTypes: string[];
  awaitedService: string | null;
  /** consumer: the awaited group; next-event: the group whose handling ended without sending, else null. */
  consumerGroup: string | null;
  /** When the unanswered event was sent (epoch milliseconds). */
  sinceMs: number;
  usual: ApiLatency;
  /** false: too few samples yet, the default deadline applied (unless declared). */
  learned: boolean;
  /** Its deadlines are declared in the configuration file (`choreography.steps`). */
  declared: boolean;
  lateAtMs: number;
  /** How far past `lateAtMs` it is, as of the request. */
  overdueMs: number;
  /**
   * next-event: the consumer group that always sends after this event (`awaitsSend` in GET /api/model)
   * finished handling it without sending anything. The flow is stalled from then, not at a deadline:
   * `consumerGroup` and `awaitedService` name that group. Null otherwise.
   */
  handledWithoutSending: { consumerGroup: string; service: string; atMs: number; sendShare: number } | null;
  /**
   * consumer: the awaited group, which reads its partitions in order, handled a later message of the
   * awaited message's partition (`laterOffset`, begun at `laterAtMs`) and not this one (`offset`): it went
   * past it. The flow is stalled from then, not at a deadline. Offsets are decimal digits. Null otherwise.
   */
  passedOver: { consumerGroup: string; topic: string; partition: string; offset: string; laterOffset: string; laterAtMs: number } | null;
  message: string;
}

/** Why a flow failed: a step whose every attempt failed. */
export interface ApiFailureExplanation {
  kind: 'failure';
  service: string;
  eventType: string | null;
  consumerGroup: string | null;
  sinceMs: number;
  message: string;
}

export type ApiExplanation = ApiWaitExplanation | ApiFailureExplanation;

/** GET /api/model — the choreography as learned from settled flows, per event type; `savedAtMs` null before anything was learned. */
export interface ModelResponse {
  savedAtMs: number | null;
  /** The model answers from the current and previous window of this length. */
  windowMs: number;
  /** Occurrences an event type needs before its learned latencies are trusted. */
  minSamples: number;
  /** A consumer group that handles an event at least this often is awaited for it. */
  expectProbability: number;
  steps: ApiModelStep[];
}

export interface ApiModelStep {
  eventType: string;
  producers: { service: string; count: number }[];
  occurrences: number;
  trusted: boolean;
  terminal: 'completed' | 'compensated' | null;
  /**
   * Each group handling it: `wait` in Kafka before a handling starts, `handling` how long a successful one
   * takes (its span), `untilHandled` from the event sent to the group's first attempt ending (what a flow
   * waits out before calling the group late: a handling is known when its span ends), `attempts`
   * deliveries to the group and `failedAttempts` those that failed; `handled` successful handlings and
   * `sentNext` those that sent an event from inside (the send's parent or link is the handling's span);
   * `awaitsSend`: an awaited group that sent in at least 99.9 % of at least 1,000 handlings
   * (`stalls.sendEvidenceMinSamples`) in the model's window (`windowMs`, the current and previous one), so one
   * that ends without sending stalls its flow once that span has had the export delay to arrive.
   */
  consumers: {
    group: string; service: string; count: number; probability: number; awaited: boolean; wait: ApiLatency;
    untilHandled: ApiLatency; handling: ApiLatency; attempts: number; failedAttempts: number; handled: number; sentNext: number; awaitsSend: boolean;
  }[];
  /** The events that follow, most likely first: a branch shows as several. */
  transitions: { eventType: string; count: number; probability: number; latency: ApiLatency }[];
  /** Occurrences after which the flow sent nothing more from it. */
  endedHere: number;
}

/**
 * GET /api/flows — flows, newest activity (last event) first; every filter given must hold. `start` and
 * `end` bound the flows' activity: a flow is in when its last event is at or after `start` and its first
 * before `end`.
 */
export interface FlowsQuery {
  businessKey?: string;
  traceId?: string;
  service?: string;
  eventType?: string;
  anomaly?: ApiAnomalyType;
  state?: ApiFlowState;
  start?: string;
  end?: string;
  /** 1 to 1000; default 100. */
  limit?: number;
  cursor?: ApiCursor;
}

export interface FlowsResponse {
  flows: FlowSummary[];
  nextCursor: ApiCursor | null;
}

/**
 * One edge of a flow: `delivery`, a message from its producer span to one consumer span (one per group
 * and attempt); `step`, a service reacting, from the consumer span to an event its handling sent.
 */
export interface ApiHop {
  kind: 'delivery' | 'step';
  /** null: a delivery whose producer is unknown (an uninstrumented producer). */
  from: ApiSpanRef | null;
  to: ApiSpanRef;
  joinedBy: ApiJoinReason | null;
  /** The producer span is named (parent or link) but has not arrived yet. */
  pending: boolean;
  destination: string | null;
  eventType: string | null;
  fromService: string | null;
  toService: string;
  consumerGroup: string | null;
  attempt: number | null;
  /** delivery: producer end → consumer start, the time in Kafka (0 when the clocks disagree); step: null. */
  waitMs: number | null;
  /** The `to` span's duration. */
  processingMs: number;
  clockSkew: boolean;
}

interface ApiAnomalyBase {
  severity: 'info' | 'warning';
  /** One sentence for a person: "context lost at inventory on topic orders.paid". */
  message: string;
}

export type ApiAnomaly = ApiAnomalyBase & (
  | { type: 'fan-out'; producer: ApiSpanRef; eventType: string | null; destination: string | null; groups: string[] }
  | { type: 'fan-in'; consumerGroup: string; service: string; eventTypes: string[] }
  | {
    type: 'duplicate-delivery'; producer: ApiSpanRef | null; eventType: string | null; destination: string | null;
    consumerGroup: string; service: string; deliveries: ApiSpanRef[];
    /** When the first repeat began. */
    repeatedAtMs: number;
  }
  | {
    type: 'retry'; producer: ApiSpanRef | null; eventType: string | null; destination: string | null; consumerGroup: string;
    service: string; attempts: number; succeeded: boolean; deliveries: ApiSpanRef[];
  }
  | {
    type: 'out-of-order'; consumerGroup: string; service: string;
    producedFirst: { eventType: string | null; consumer: ApiSpanRef }; handledFirst: { eventType: string | null; consumer: ApiSpanRef };
  }
  | { type: 'orphan-event'; producer: ApiSpanRef; eventType: string | null; destination: string | null; service: string; producedAtMs: number }
  | {
    type: 'propagation-gap'; service: string; destination: string | null; consumerGroup: string; consumer: ApiSpanRef;
    producer: ApiSpanRef | null; joinedBy: ApiJoinReason | null; contextStatus: string | null;
    /** When the consumer that lost the context started. */
    lostAtMs: number;
  }
  | { type: 'clock-skew'; producer: ApiSpanRef; consumer: ApiSpanRef; producerHost: string; consumerHost: string; skewMs: number }
  | { type: 'shared-key'; businessKey: string }
  | { type: 'truncated'; droppedSpans: number; maxFlowSpans: number }
);

/**
 * GET /api/flows/:flowId — one flow: its summary, its spans in causal order (a parent before its child
 * when their start times tie), its hops and its anomalies. An absorbed flow's id answers the flow that
 * absorbed it, whose id `flow.flowId` gives.
 */
export interface FlowResponse {
  flow: FlowSummary;
  spans: ApiSpan[];
  hops: ApiHop[];
  anomalies: ApiAnomaly[];
}

/** GET /api/spans/:traceId/:spanId/consumers — every consumer span of a producer span, in every group, however joined. */
export interface SpanConsumersResponse {
  producer: ApiSpan;
  /** The producer's flow; null while it is not assembled yet. */
  flowId: ApiFlowId | null;
  consumers: ApiConsumer[];
}

export interface ApiConsumer {
  span: ApiSpan;
  consumerGroup: string;
  joinedBy: ApiJoinReason;
  waitMs: number | null;
  attempt: number | null;
  clockSkew: boolean;
}

/** GET /api/diagnostics/propagation?start=&limit= — where trace context is lost, per consuming service and topic, most first. */
export interface PropagationDiagnosticsResponse {
  /** Flows active from this time were counted (epoch milliseconds). */
  sinceMs: number;
  gaps: ApiPropagationGap[];
}

export interface ApiPropagationGap {
  /** The consuming service, where the context was lost. */
  service: string;
  destination: string | null;
  /** Deliveries that lost their context. */
  lostHops: number;
  flows: number;
  /** How those deliveries were matched instead: by Kafka message, by business key, not at all. */
  matchedBy: { message: number; key: number; none: number };
  exampleFlowId: ApiFlowId;
  lastSeenMs: number;
  /** "context lost at inventory on topic orders.paid". */
  message: string;
}

/**
 * GET /api/catalog — the event catalogue discovered from traffic, by event type: the topics it travels
 * on, who produces and who consumes it, the attribute keys its spans carry, how many went by and how fast.
 */
export interface CatalogResponse {
  /** `ratePerSecond` counts events produced in the `rateWindowMs` before this time. */
  atMs: number;
  rateWindowMs: number;
  events: ApiCatalogEvent[];
}

export interface ApiCatalogEvent {
  /** `choreoscope.event.type`, else CloudEvents' type, else the topic. */
  eventType: string;
  topics: string[];
  producers: { service: string; spans: number; lastSeenMs: number }[];
  /** `consumerGroup` null when the consumer spans named none. */
  consumers: { service: string; consumerGroup: string | null; spans: number; lastSeenMs: number }[];
  /** Attribute keys its producer and consumer spans carried, by name (at most 100 per service and group). */
  attributeKeys: string[];
  produced: number;
  consumed: number;
  ratePerSecond: number;
  firstSeenMs: number;
  lastSeenMs: number;
}

/**
 * GET /api/catalog/asyncapi — the choreography as observed, as an AsyncAPI 3.0 document (the parts
 * Choreoscope fills; see https://www.asyncapi.com/docs/reference/specification/v3.0.0).
 */
export interface AsyncApiDocument {
  asyncapi: '3.0.0';
  info: { title: string; version: string; description: string };
  defaultContentType: string;
  /** Per topic: its address, and the event types seen on it. */
  channels: Record<string, { address: string | null; messages: Record<string, { $ref: string }> }>;
  /** Per service, event type, topic (and consumer group): what it sends or receives. */
  operations: Record<string, {
    action: 'send' | 'receive';
    channel: { $ref: string };
    messages: { $ref: string }[];
    summary: string;
    'x-choreoscope-service': string;
    'x-choreoscope-spans': number;
    'x-choreoscope-last-seen': string;
    bindings?: { kafka: { groupId: { type: 'string'; enum: string[] }; bindingVersion: string } };
  }>;
  components: {
    /** Per event type, with the span attribute keys its producers and consumers carried. */
    messages: Record<string, { name: string; title: string; summary: string; 'x-choreoscope-span-attribute-keys': string[] }>;
  };
}

/**
 * GET /api/stats/flows?start=&end= — flows active in the window (default the last hour): by state, the
 * end-to-end duration of those that ended (completed or compensated), and the step funnel, across traces.
 */
export interface FlowStatsResponse {
  startMs: number;
  endMs: number;
  /** Flows active in the window, by state (every state listed, 0 when none). */
  byState: Record<ApiFlowState, number>;
  duration: {
    /** Flows that ended in the window; the quantiles are null when none did. */
    count: number;
    p50Ms: number | null;
    p90Ms: number | null;
    p99Ms: number | null;
    maxMs: number | null;
    /** How many took up to `upToMs` (a power of two of milliseconds) and more than half it: a log-scale histogram, shortest first. */
    histogram: { upToMs: number; flows: number }[];
  };
  /** Per event type, the most reached first: how many flows reached it, and how many are stuck (late or stalled waiting after it) or failed there. */
  funnel: ApiFunnelStep[];
}

export interface ApiFunnelStep {
  eventType: string;
  reached: number;
  stuck: number;
  failed: number;
}

/**
 * GET /api/live — server-sent events. Each event's `data` is JSON: `{ atMs, <event name>: … }`, `atMs` when
 * the round that changed it committed (by the assembling collector's clock).
 */
export type LiveEvent =
  | { event: 'hello'; data: { atMs: number; flowId: ApiFlowId | null } }
  | { event: 'flows'; data: { atMs: number; flows: LiveFlow[] } }
  | { event: 'removed'; data: { atMs: number; removed: ApiFlowId[] } }
  | { event: 'alerts'; data: { atMs: number; alerts: LiveAlert[] } }
  | { event: 'traffic'; data: { atMs: number; traffic: LiveTraffic[] } }
  /** Changes may have been missed (the collector's listening connection was lost): read the API again. */
  | { event: 'resync'; data: Record<string, never> };

/** A flow written: enough to move it on a map or a list; GET /api/flows/:flowId has the rest. */
export interface LiveFlow {
  flowId: ApiFlowId;
  state: ApiFlowState;
  lastEventMs: number;
  spanCount: number;
  eventTypes: string[];
}

export interface LiveAlert {
  id: string;
  state: ApiAlertState;
  severity: ApiAlert['severity'];
  title: string;
  flowCount: number;
}

/** Spans newly seen on one edge of the choreography: an event type sent (producer) or handled (consumer) by a service. */
export interface LiveTraffic {
  eventType: string;
  /** The topic; '' when the spans named none. */
  destination: string;
  role: 'producer' | 'consumer';
  service: string;
  /** '' for producers, and consumers that named no group. */
  consumerGroup: string;
  spans: number;
}

/**
 * An alert on stuck flows: flows stuck the same way ("waiting for PaymentAuthorized from payment") make one,
 * which fires once, grows as more join, and resolves by itself a quiet minute after the last has moved on.
 * Critical for stalled flows, warning for failures (counted for 15 minutes after each).
 */
export interface ApiAlert {
  /** Stable for the episode; a new episode of the same trouble is a new alert. */
  id: string;
  /**
   * What it is about, as `<kind>|<part>|…` with `|` in a part written `%7C`: `stalled|<event waited after>|<its service>|<next-event or
   * consumer>|<consumer group>`, `failed|<service>|<event type>|<consumer group>`, `duplicate|…`, `orphan|…`, `gap|…`, `drift|…`.
   */
  key: string;
  /** critical: flows stalled; warning: flows failed, messages processed twice, events nobody consumed, a consumer group gone; info: trace context lost. */
  severity: 'critical' | 'warning' | 'info';
  state: ApiAlertState;
  /** "37 flows waiting for PaymentAuthorized from payment". */
  title: string;
  /** The same of one flow: "waiting for PaymentAuthorized from payment". */
  subject: string;
  /** Flows stuck this way now (0 once resolved). */
  flowCount: number;
  /** The most at once during the episode. */
  peakFlows: number;
  /** Some of them (up to 20), the longest stuck first: GET /api/flows/:flowId for each. */
  flowIds: ApiFlowId[];
  startsAtMs: number;
  endsAtMs: number | null;
  /** Since when no flow is stuck this way (it resolves a minute later); null while some are. */
  quietSinceMs: number | null;
  /** When the latest of its flows got this way; for an alert about the choreography (a consumer group gone), when it began. */
  lastSeenMs: number;
  acknowledged: { atMs: number; by: string } | null;
  /**
   * Webhook and Slack notifications are held back until then, and sent when it ends unless the episode
   * began and ended within it (Alertmanager applies its own silences); null: not silenced.
   */
  silencedUntilMs: number | null;
  /** Fired, grew (each time it doubled), acknowledged, silenced, resolved: newest first. */
  history: ApiAlertEvent[];
  /** Its notifications, one per receiver and kind. */
  deliveries: ApiAlertDelivery[];
}

export type ApiAlertState = 'firing' | 'resolved';

export interface ApiAlertEvent {
  atMs: number;
  event: 'fired' | 'grew' | 'acknowledged' | 'silenced' | 'resolved';
  /** Flows stuck at that moment. */
  flows: number;
  /** Who acknowledged or silenced it, as they said. */
  by?: string;
}

export interface ApiAlertDelivery {
  kind: 'firing' | 'resolved';
  /** The receiver: its kind, then a digest of its address (the address itself is a secret). */
  receiver: string;
  /** `delivered`, `given up: <why>` or `silenced` (the episode came and went within a silence); null while it is still owed or held. */
  outcome: string | null;
  attempts: number;
  createdAtMs: number;
  settledAtMs: number | null;
}

/** GET /api/alerts?state=firing|resolved&limit= — firing alerts (the default), or the resolved ones, the latest to start first. */
export interface AlertsResponse {
  alerts: ApiAlert[];
}

/** GET /api/alerts/:alertId, and the answer of POST /api/alerts/:alertId/ack and …/silence. */
export interface AlertResponse {
  alert: ApiAlert;
}

/** One of an alert's flows, as a person finds it again: by its business keys (the order id) and its state. */
export interface ApiAlertFlow {
  flowId: string;
  businessKeys: string[];
  state: ApiFlowState;
}

/**
 * GET /api/alerts/:alertId — the alert, and the first of its flows (`flowIds` order, at most 50) with their
 * business keys and states; a flow no longer stored is left out.
 */
export interface AlertDetailResponse extends AlertResponse {
  flows: ApiAlertFlow[];
}

/** POST /api/alerts/:alertId/ack — the body, optional. */
export interface AcknowledgeAlertRequest {
  /** Who looks at it; default "api". */
  by?: string;
}

/** POST /api/alerts/:alertId/silence — the body, optional. */
export interface SilenceAlertRequest {
  /** For how long, from now; 0 lifts the silence. Default 3_600_000 (an hour), at most 30 days. */
  forMs?: number;
  by?: string;
}

/** GET /healthz: the process answers. */
export interface HealthResponse {
  status: 'ok';
}

/** GET /readyz: 200 when the store answers, else 503 with an `ApiErrorBody`. */
export interface ReadyResponse {
  status: 'ready';
}

/** The body of every 4xx/5xx answer of the query API; `code` is one of docs/api-errors.md. */
export interface ApiErrorBody {
  error: { code: string; message: string };
}
