-- +goose Up
-- The audit trail: append-only and hash-chained. Event ids come from
-- audit_head, which every append updates in the appending transaction; that
-- row lock serialises appends in commit order, so ids are gapless and the
-- chain never forks.
CREATE TABLE audit_head (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    seq        bigint  NOT NULL,
    prev_hash  bytea   NOT NULL,
    hash       bytea   NOT NULL
);
INSERT INTO audit_head (seq, prev_hash, hash) VALUES (0, '\x'::bytea, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);

CREATE TABLE audit_events (
    id          bigint      PRIMARY KEY,
    occurred_at timestamptz NOT NULL,
    code        text        NOT NULL,
    actor       text        NOT NULL,
    actor_name  text        NOT NULL DEFAULT '',
    actor_roles text[]      NOT NULL DEFAULT '{}',
    department  text        NOT NULL DEFAULT '',
    target      text        NOT NULL DEFAULT '',
    outcome     text        NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
    source_ip   text        NOT NULL DEFAULT '',
    user_agent  text        NOT NULL DEFAULT '',
    request_id  text        NOT NULL DEFAULT '',
    detail      jsonb       NOT NULL DEFAULT '{}',
    prev_hash   bytea       NOT NULL,
    hash        bytea       NOT NULL
);

CREATE INDEX audit_events_time_idx ON audit_events (occurred_at);
CREATE INDEX audit_events_actor_idx ON audit_events (actor, id);
CREATE INDEX audit_events_department_idx ON audit_events (department, id);
CREATE INDEX audit_events_dept_actor_idx ON audit_events (department, actor, id);
CREATE INDEX audit_events_code_idx ON audit_events (code text_pattern_ops, id);
CREATE INDEX audit_events_outcome_idx ON audit_events (outcome, id);

-- +goose StatementBegin
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION audit_head_advance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.seq <> OLD.seq + 1 OR NEW.prev_hash <> OLD.hash THEN
        RAISE EXCEPTION 'audit head may only advance by one event' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_head_advance_only BEFORE UPDATE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION audit_head_advance();
CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

-- +goose Down
DROP TABLE audit_events;
DROP TABLE audit_head;
DROP FUNCTION audit_append_only();
DROP FUNCTION audit_head_advance();
