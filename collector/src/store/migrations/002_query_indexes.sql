-- The query API's access paths (src/api, statements in src/store/queries.ts). Plain PostgreSQL.

-- Keyset pagination orders spans by (start_time, trace_id, span_id), newest or oldest first: one
-- b-tree serves both directions and the row comparison a page continues from. It starts with
-- start_time, so it also serves everything spans_by_start did.
CREATE INDEX spans_by_position ON spans (start_time, trace_id, span_id);
DROP INDEX spans_by_start;

-- Search by service and operation (span name) in time order; the operations of a service.
CREATE INDEX spans_by_operation ON spans (service_name, name, start_time);

-- Attribute filters (attr=key:value) ask `record->'attributes' @> '{"key": value}'`: jsonb_path_ops
-- answers containment only, with a smaller index than the default operator class.
CREATE INDEX spans_by_attributes ON spans USING gin ((record->'attributes') jsonb_path_ops);

-- Recent failures (status=error), a small index since errors are few.
CREATE INDEX spans_with_error ON spans (start_time, trace_id, span_id) WHERE status_code = 'error';
