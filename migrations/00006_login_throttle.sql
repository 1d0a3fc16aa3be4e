-- +goose Up
-- Break-glass throttling (and other per-person limits) by reservation: one
-- row per bucket ("user:<name>", "addr:<address or IPv6 /64>", ...), locked
-- and advanced before the password is checked, so parallel attempts cannot
-- all pass one read. The per-attempt rows are gone.
CREATE TABLE login_throttle (
    bucket        text        PRIMARY KEY CHECK (length(bucket) BETWEEN 1 AND 200),
    attempts      integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    blocked_until timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
DROP TABLE login_failures;

-- +goose Down
CREATE TABLE login_failures (
    id         bigserial   PRIMARY KEY,
    username   text        NOT NULL,
    source_ip  text        NOT NULL,
    failed_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_user_idx ON login_failures (username, failed_at);
CREATE INDEX login_failures_ip_idx ON login_failures (source_ip, failed_at);
DROP TABLE login_throttle;
