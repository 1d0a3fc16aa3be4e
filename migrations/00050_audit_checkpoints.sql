-- +goose NO TRANSACTION
-- +goose Up
-- The audit verification starts from the newest checkpoint (a successful
-- audit.verified event naming the last event it verified) and the daily
-- watch asks when the whole chain was last walked: two small partial
-- indexes find them without reading every audit.verified event. Built
-- CONCURRENTLY, so appends go on while a large trail is indexed.
CREATE INDEX CONCURRENTLY IF NOT EXISTS audit_events_checkpoint_idx ON audit_events (id)
    WHERE code = 'audit.verified' AND outcome = 'success' AND detail ? 'through';
CREATE INDEX CONCURRENTLY IF NOT EXISTS audit_events_full_verify_idx ON audit_events (id)
    WHERE code = 'audit.verified' AND detail @> '{"full": true}';

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS audit_events_full_verify_idx;
DROP INDEX CONCURRENTLY IF EXISTS audit_events_checkpoint_idx;
