-- Business flows: what flow assembly (src/core/assemble.ts, run by src/flows/flow-worker.ts) made of the
-- spans. Plain PostgreSQL, the same on PGlite.

-- Spans committed but not yet assembled: one row per committed group, written in the transaction that
-- stores its spans, deleted in the transaction that stores what assembly made of them. So an
-- acknowledged span is assembled exactly once, whatever is killed when, and whichever collector on the
-- database assembles.
CREATE TABLE flow_inbox (
  id        bigserial PRIMARY KEY,
  span_keys jsonb NOT NULL  -- ["traceId/spanId", ...]
);

-- One row per flow, keyed by the id its spans give it (core/flow.ts: the anchor span). `facts` is the
-- FlowFacts the API answers; lists sort on the time columns and filter inside `facts` (services, event
-- types, anomalies: jsonb_path_ops indexes answer containment, `facts->'services' @> '["payment"]'`).
-- A flow is found by business key through the spans' own index (spans_by_business_key) and flow_members,
-- so a key found shared still finds its flows.
CREATE TABLE flows (
  flow_id        text PRIMARY KEY,
  first_event_ms double precision NOT NULL,
  last_event_ms  double precision NOT NULL,
  facts          jsonb NOT NULL,
  -- where the flow lost trace context: [{"service", "destination"}], for the propagation diagnostics
  gaps           jsonb,
  -- when time alone changes the flow's description (an unconsumed event becomes an orphan)
  recheck_at_ms  double precision
);

CREATE INDEX flows_by_activity ON flows (last_event_ms, flow_id);
CREATE INDEX flows_by_service ON flows USING gin ((facts->'services') jsonb_path_ops);
CREATE INDEX flows_by_event_type ON flows USING gin ((facts->'eventTypes') jsonb_path_ops);
-- most flows have no anomaly: only those that do are indexed
CREATE INDEX flows_by_anomaly ON flows USING gin ((facts->'anomalies') jsonb_path_ops) WHERE facts->'anomalies' <> '[]'::jsonb;
CREATE INDEX flows_with_gaps ON flows (last_event_ms) WHERE gaps IS NOT NULL;
CREATE INDEX flows_to_recheck ON flows (recheck_at_ms) WHERE recheck_at_ms IS NOT NULL;

-- Which flow each assembled span is in (batch spans are in none). A span's row also finds the flow a
-- flow id names: the id is its anchor span's, and an absorbed flow's anchor is a span of the survivor.
CREATE TABLE flow_members (
  trace_id text NOT NULL,
  span_id  text NOT NULL,
  flow_id  text NOT NULL,
  PRIMARY KEY (trace_id, span_id)  -- also the index by trace id (GET /api/flows?traceId=)
);

CREATE INDEX flow_members_by_flow ON flow_members (flow_id);

-- The flow that holds each Kafka message ('m:topic/partition/offset') and business key ('k:key'); a key
-- found shared by unrelated chains has no flow and `shared` set.
CREATE TABLE flow_points (
  point   text PRIMARY KEY,
  flow_id text,
  shared  boolean NOT NULL DEFAULT false
);

CREATE INDEX flow_points_by_flow ON flow_points (flow_id);

-- Batch spans (a poll covering many orders) belong to no flow; kept here so that a span naming one as
-- its parent after it left the assembler's memory knows it joins nothing by it.
CREATE TABLE flow_batch_spans (
  trace_id text NOT NULL,
  span_id  text NOT NULL,
  PRIMARY KEY (trace_id, span_id)
);

-- References left waiting: a span (the referrer, a member of some flow) names another as its parent or
-- link that had not arrived when the referrer was assembled. When that span arrives, its referrers'
-- flows are found here (through flow_members), wherever they are; the rows go once it has arrived.
CREATE TABLE flow_pending (
  target            text NOT NULL,  -- 'traceId/spanId' of the span awaited
  referrer_trace_id text NOT NULL,
  referrer_span_id  text NOT NULL,
  PRIMARY KEY (target, referrer_trace_id, referrer_span_id)
);

-- The event catalogue discovered from traffic (core/catalog.ts): per event type, topic, role, service and
-- consumer group, how many spans, when first and last seen, and their attribute keys. Counted by the
-- assembler once per span, in the transaction that places the span in its first flow.
CREATE TABLE event_catalog (
  event_type     text NOT NULL,
  destination    text NOT NULL,  -- '' when the spans named no topic
  role           text NOT NULL,  -- producer or consumer
  service        text NOT NULL,
  consumer_group text NOT NULL,  -- '' for producers, and consumers that named none
  spans          double precision NOT NULL,
  first_seen_ms  double precision NOT NULL,
  last_seen_ms   double precision NOT NULL,
  attribute_keys jsonb NOT NULL,
  PRIMARY KEY (event_type, destination, role, service, consumer_group)
);

-- Events produced per minute (by the producer span's start), for the catalogue's rates; a day is kept.
CREATE TABLE event_rates (
  event_type  text NOT NULL,
  destination text NOT NULL,
  minute_ms   double precision NOT NULL,
  produced    double precision NOT NULL,
  PRIMARY KEY (event_type, destination, minute_ms)
);
