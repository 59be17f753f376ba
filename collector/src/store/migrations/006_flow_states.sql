-- Where each flow stands (core/stalls.ts), judged by the collector that assembles against the learned
-- choreography: running, late, stalled, completed, failed or compensated; why, when it is late, stalled or
-- failed; and when it should complete. Written with the flow's facts, and again when a deadline passes.
ALTER TABLE flows ADD COLUMN state text NOT NULL DEFAULT 'running';
ALTER TABLE flows ADD COLUMN explanation jsonb;
ALTER TABLE flows ADD COLUMN expected_completion_ms double precision;
-- the flows that need a person are few: only they are indexed (lists of the others read flows_by_activity)
CREATE INDEX flows_needing_attention ON flows (state, last_event_ms, flow_id) WHERE state IN ('late', 'stalled', 'failed');
-- the flows of the last hour are judged at once (described again by the next rounds); older ones when touched
UPDATE flows SET recheck_at_ms = 1
WHERE last_event_ms >= extract(epoch FROM now()) * 1000 - 3600000 AND (recheck_at_ms IS NULL OR recheck_at_ms > 1);

-- The learned choreography (core/model.ts), saved by the collector that assembles, read back by the next
-- one and by GET /api/model on any collector. One row.
CREATE TABLE choreography_model (
  id          smallint PRIMARY KEY CHECK (id = 1),
  model       jsonb NOT NULL,
  saved_at_ms double precision NOT NULL
);
