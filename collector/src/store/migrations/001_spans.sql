-- Spans and their links. Plain PostgreSQL: the same file runs on PGlite and on a PostgreSQL server.

-- One row per span, stored once: the key is the span's identity, and a re-sent span is ignored.
-- The columns are what queries filter and sort on; `record` is the whole span record (core/span.ts),
-- returned as it was written.
CREATE TABLE spans (
  trace_id        text        NOT NULL,  -- 32 lowercase hex digits
  span_id         text        NOT NULL,  -- 16 lowercase hex digits
  parent_span_id  text,                  -- null for a root span
  service_name    text        NOT NULL,
  name            text        NOT NULL,
  kind            text        NOT NULL,
  status_code     text        NOT NULL,
  start_time      timestamptz NOT NULL,  -- to the microsecond; `record` keeps the exact value
  end_time        timestamptz NOT NULL,
  business_key    text,                  -- choreoscope.business_key (or the conversation id), if any
  record          jsonb       NOT NULL,
  received_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (trace_id, span_id)       -- also the index by trace id
);

CREATE INDEX spans_by_service ON spans (service_name, start_time);
CREATE INDEX spans_by_start ON spans (start_time);
CREATE INDEX spans_by_business_key ON spans (business_key, start_time) WHERE business_key IS NOT NULL;

-- A span's links, one row each, found from either end: the linking span's key is the primary key's
-- prefix, and the linked span has an index of its own (which consumers linked this producer?).
CREATE TABLE span_links (
  trace_id         text    NOT NULL,  -- the linking span
  span_id          text    NOT NULL,
  link_index       integer NOT NULL,  -- position in the span's links
  linked_trace_id  text    NOT NULL,  -- the span linked to (it may not be stored, or not yet)
  linked_span_id   text    NOT NULL,
  PRIMARY KEY (trace_id, span_id, link_index)
);

CREATE INDEX span_links_by_linked_span ON span_links (linked_trace_id, linked_span_id);
