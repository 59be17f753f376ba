-- Alerts on stuck chains (core/alerts.ts) and the notifications they owe, written by the collector that
-- assembles flows in the transaction that stores the verdicts behind them: an alert fires, and its
-- notification is owed, exactly when the round that made it commits. Acknowledgements and silences are
-- people's notes, written by the API of any collector, never by the assembler.
CREATE TABLE alerts (
  alert_id          text PRIMARY KEY,
  alert_key         text NOT NULL,
  state             text NOT NULL,            -- firing | resolved
  starts_at_ms      double precision NOT NULL,
  ends_at_ms        double precision,
  alert             jsonb NOT NULL,           -- the episode as core/alerts.ts has it
  acknowledged      jsonb,                    -- {atMs, by}
  silenced_until_ms double precision,
  notes             jsonb NOT NULL DEFAULT '[]'  -- acknowledged and silenced events, newest first
);
CREATE INDEX alerts_by_state ON alerts (state, starts_at_ms DESC, alert_id);

-- One row per notification and receiver (a digest of its address: the address itself is a secret),
-- settled once delivered, given up, or held back by a silence.
CREATE TABLE alert_outbox (
  id            bigserial PRIMARY KEY,
  alert_id      text NOT NULL,
  receiver      text NOT NULL,
  notification  jsonb NOT NULL,
  created_at_ms double precision NOT NULL,
  settled_at_ms double precision,
  outcome       text,                         -- delivered | given up: <why> | silenced
  attempts      integer NOT NULL DEFAULT 0
);
CREATE INDEX alert_outbox_unsettled ON alert_outbox (id) WHERE settled_at_ms IS NULL;
CREATE INDEX alert_outbox_by_alert ON alert_outbox (alert_id);
