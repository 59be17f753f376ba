-- How far behind flow assembly is: when each committed group was queued, and how many spans it holds, so
-- the assembling collector can say how many spans wait and for how long (its backlog metrics) without
-- reading every row's key list.
ALTER TABLE flow_inbox ADD COLUMN queued_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE flow_inbox ADD COLUMN spans integer;
UPDATE flow_inbox SET spans = jsonb_array_length(span_keys);
ALTER TABLE flow_inbox ALTER COLUMN spans SET NOT NULL;
