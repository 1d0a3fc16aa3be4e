-- +goose Up
-- One UWS credential per department, the rotation runs that changed it, and
-- the shared (encrypted) ThingSpace session cache.
CREATE TABLE credentials (
    id                   bigserial   PRIMARY KEY,
    department_id        bigint      NOT NULL UNIQUE REFERENCES departments (id) ON DELETE CASCADE,
    username             text        NOT NULL CHECK (length(username) BETWEEN 1 AND 128),
    -- AES-256-GCM under key_id, associated data "credential:<id>".
    ciphertext           bytea       NOT NULL,
    key_id               text        NOT NULL,
    version              integer     NOT NULL DEFAULT 1 CHECK (version >= 1),
    state                text        NOT NULL DEFAULT 'idle'
                         CHECK (state IN ('idle', 'resetting', 'verifying', 'unknown', 'attention', 'quarantined')),
    -- When state last changed: recovery finds rotations stuck longer than a timeout.
    state_since          timestamptz NOT NULL DEFAULT now(),
    -- The rotation run that owns a resetting/verifying/unknown state.
    run_id               bigint,
    -- Lockout guard: consecutive failed upstream logins, shared by every
    -- instance, and the lease of the one login attempt in flight.
    consecutive_failures integer     NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
    -- Failed logins since the last successful one: what ThingSpace counts
    -- toward its lock (5). Clearing a quarantine does not reset it, so no
    -- number of clears lets the portal make a fifth failure; only a
    -- successful login or a replaced credential does.
    failures_since_success integer NOT NULL DEFAULT 0 CHECK (failures_since_success >= 0),
    login_lease_until    timestamptz,
    last_rotated_at      timestamptz,
    last_verified_at     timestamptz,
    last_upstream_code   text        NOT NULL DEFAULT '',
    last_result          text        NOT NULL DEFAULT '',
    password_changed_at  timestamptz NOT NULL DEFAULT now(),
    -- Scheduler back-off after failed scheduled rotations.
    schedule_failures    integer     NOT NULL DEFAULT 0,
    next_attempt_at      timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX credentials_state_idx ON credentials (state, state_since);

CREATE TABLE rotation_runs (
    id            bigserial   PRIMARY KEY,
    credential_id bigint      NOT NULL REFERENCES credentials (id) ON DELETE CASCADE,
    department_id bigint      NOT NULL REFERENCES departments (id) ON DELETE CASCADE,
    actor         text        NOT NULL,
    actor_name    text        NOT NULL DEFAULT '',
    trigger       text        NOT NULL CHECK (trigger IN ('manual', 'scheduled', 'cli')),
    started_at    timestamptz NOT NULL,
    ended_at      timestamptz,
    result        text        NOT NULL DEFAULT 'running'
                  CHECK (result IN ('running', 'rotated', 'rejected', 'unknown', 'not_rotated', 'attention')),
    upstream_code text        NOT NULL DEFAULT '',
    detail        text        NOT NULL DEFAULT ''
);
CREATE INDEX rotation_runs_department_idx ON rotation_runs (department_id, started_at DESC, id DESC);

CREATE TABLE upstream_sessions (
    credential_id bigint      PRIMARY KEY REFERENCES credentials (id) ON DELETE CASCADE,
    -- AES-256-GCM under key_id, associated data "upstream_session:<credential id>".
    ciphertext    bytea       NOT NULL,
    key_id        text        NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE upstream_sessions;
DROP TABLE rotation_runs;
DROP TABLE credentials;
