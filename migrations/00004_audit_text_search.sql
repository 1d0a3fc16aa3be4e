-- +goose Up
-- Free-text search over the audit trail (actor, name, target and detail)
-- with a trigram index, so "q" does not scan the whole trail. pg_trgm is a
-- trusted extension shipped with PostgreSQL (Debian: postgresql-contrib,
-- part of the server package).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX audit_events_text_idx ON audit_events
    USING gin ((actor || ' ' || actor_name || ' ' || target || ' ' || detail::text) gin_trgm_ops);

-- +goose Down
DROP INDEX audit_events_text_idx;
