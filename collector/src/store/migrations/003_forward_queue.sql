-- Exports waiting to be forwarded (--forward-url), written in the transaction that stored their spans,
-- so a batch is queued exactly when its spans are kept and survives the collector being killed. A
-- forwarder leases rows while it sends them (leased_by: which forwarder; collectors sharing a database
-- never send one row at the same time; a lease left by a dead collector runs out) and deletes each row
-- once it is settled.
CREATE TABLE forward_queue (
  id bigserial PRIMARY KEY,
  content_type text NOT NULL,
  -- base64: PGlite passes bytea parameters as hex text, several times slower than this
  body_base64 text NOT NULL,
  bytes integer NOT NULL,
  leased_by text,
  leased_until timestamptz
);
-- short-lived rows: compressing them costs ingest more than the space is worth
ALTER TABLE forward_queue ALTER COLUMN body_base64 SET STORAGE EXTERNAL;
