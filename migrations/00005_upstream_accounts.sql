-- +goose Up
-- The lockout guard and the session cache are keyed by the upstream account
-- (the UWS username, which ThingSpace counts failures against), not by
-- department: REST and SOAP share it, and so would two departments.
-- Usernames compare case-insensitively; the key is the lower-case form.

-- One credential per username: a second department entering a username
-- another department holds is refused (see docs/design.md). This index
-- fails the migration if two departments already share one; fix that by
-- replacing one of them before upgrading.
CREATE UNIQUE INDEX credentials_username_key ON credentials (lower(username));

CREATE TABLE upstream_accounts (
    username               text        PRIMARY KEY CHECK (username = lower(username) AND length(username) BETWEEN 1 AND 128),
    -- Consecutive failed logins the quarantine threshold counts; an
    -- administrator's clear sets it back to 0.
    consecutive_failures   integer     NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
    -- Failed logins since the last successful one: what ThingSpace counts
    -- toward its lock at 5. Only a successful login (or an administrator
    -- stating that Verizon reset the count) sets it back to 0.
    failures_since_success integer     NOT NULL DEFAULT 0 CHECK (failures_since_success >= 0),
    -- The one login attempt in flight: its owner's random id and the time
    -- (database clock) after which it counts as failed.
    lease_id               text,
    lease_until            timestamptz,
    -- Attempt numbers: a late success does not zero failures recorded
    -- after the attempt began.
    attempt_seq            bigint      NOT NULL DEFAULT 0,
    lease_seq              bigint      NOT NULL DEFAULT 0,
    last_failure_seq       bigint      NOT NULL DEFAULT 0,
    last_upstream_code     text        NOT NULL DEFAULT '',
    updated_at             timestamptz NOT NULL DEFAULT now()
);

INSERT INTO upstream_accounts (username, consecutive_failures, failures_since_success)
SELECT lower(username), consecutive_failures, failures_since_success FROM credentials;

ALTER TABLE credentials
    DROP COLUMN consecutive_failures,
    DROP COLUMN failures_since_success,
    DROP COLUMN login_lease_until;

-- Cached sessions belong to the account too. They are only a cache: the
-- old ones are dropped and each account logs in again once.
DROP TABLE upstream_sessions;
CREATE TABLE upstream_sessions (
    username   text        PRIMARY KEY REFERENCES upstream_accounts (username) ON DELETE CASCADE,
    -- AES-256-GCM under key_id, associated data "upstream_session:<username>".
    ciphertext bytea       NOT NULL,
    key_id     text        NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- A run whose reset's answer was lost and whose one check with the old
-- password is under way: recovery must not make that check again.
ALTER TABLE rotation_runs DROP CONSTRAINT rotation_runs_result_check;
ALTER TABLE rotation_runs ADD CONSTRAINT rotation_runs_result_check
    CHECK (result IN ('running', 'rotated', 'rejected', 'unknown', 'resolving', 'not_rotated', 'attention'));

-- +goose Down
UPDATE rotation_runs SET result = 'unknown' WHERE result = 'resolving';
ALTER TABLE rotation_runs DROP CONSTRAINT rotation_runs_result_check;
ALTER TABLE rotation_runs ADD CONSTRAINT rotation_runs_result_check
    CHECK (result IN ('running', 'rotated', 'rejected', 'unknown', 'not_rotated', 'attention'));
DROP TABLE upstream_sessions;
CREATE TABLE upstream_sessions (
    credential_id bigint      PRIMARY KEY REFERENCES credentials (id) ON DELETE CASCADE,
    ciphertext    bytea       NOT NULL,
    key_id        text        NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE credentials
    ADD COLUMN consecutive_failures integer NOT NULL DEFAULT 0,
    ADD COLUMN failures_since_success integer NOT NULL DEFAULT 0,
    ADD COLUMN login_lease_until timestamptz;
UPDATE credentials c SET consecutive_failures = a.consecutive_failures, failures_since_success = a.failures_since_success
  FROM upstream_accounts a WHERE a.username = lower(c.username);
DROP TABLE upstream_accounts;
DROP INDEX credentials_username_key;
