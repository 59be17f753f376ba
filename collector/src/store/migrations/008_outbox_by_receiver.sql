-- Each receiver's delivery reads its own owed notifications (alerting/alert-delivery.ts), so a receiver
-- that is down and owes thousands never stands in front of the others.
CREATE INDEX alert_outbox_owed_by_receiver ON alert_outbox (receiver, id) WHERE settled_at_ms IS NULL;
