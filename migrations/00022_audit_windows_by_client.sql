-- +goose Up
-- The gateway's refusals of a known API client are grouped too: one event
-- per client, reason and window, then a summary with the count, so one
-- client (or one leaked bearer token) cannot fill the append-only trail.
-- Their windows are keyed by the client (actor) and the reason, not by the
-- address (one token may be used from many); the summary is the client's,
-- in its department. Anonymous windows keep actor and reason empty.
ALTER TABLE audit_windows
    ADD COLUMN actor      text NOT NULL DEFAULT '',
    ADD COLUMN actor_name text NOT NULL DEFAULT '',
    ADD COLUMN department text NOT NULL DEFAULT '',
    ADD COLUMN target     text NOT NULL DEFAULT '',
    ADD COLUMN reason     text NOT NULL DEFAULT '';
ALTER TABLE audit_windows DROP CONSTRAINT audit_windows_pkey;
ALTER TABLE audit_windows ADD PRIMARY KEY (code, source, actor, reason);

-- +goose Down
DELETE FROM audit_windows WHERE actor <> '' OR reason <> '';
ALTER TABLE audit_windows DROP CONSTRAINT audit_windows_pkey;
ALTER TABLE audit_windows ADD PRIMARY KEY (code, source);
ALTER TABLE audit_windows DROP COLUMN actor, DROP COLUMN actor_name, DROP COLUMN department, DROP COLUMN target, DROP COLUMN reason;
