-- +goose Up
-- Applications use ThingSpace through the portal's gateway with API
-- clients: one department each, an accountable owner, the operations it
-- may do, an expiry. Secrets, bearer tokens and session handles are kept
-- only as SHA-256 hashes (they are 32 random bytes: a hash is enough).
CREATE TABLE api_clients (
    id                 text        PRIMARY KEY CHECK (id ~ '^uwsc_[a-z0-9]{20}$'),
    department_id      bigint      NOT NULL REFERENCES departments (id) ON DELETE CASCADE,
    name               text        NOT NULL,
    owner_name         text        NOT NULL DEFAULT '',
    owner_email        text        NOT NULL,
    operations         text[]      NOT NULL,
    secret_hash        bytea       NOT NULL,
    -- After a rotation the previous secret still works until prev_until.
    prev_secret_hash   bytea,
    prev_until         timestamptz,
    created_by         text        NOT NULL,
    created_at         timestamptz NOT NULL,
    expires_at         timestamptz NOT NULL,
    revoked_at         timestamptz,
    revoked_by         text
);
CREATE INDEX api_clients_department ON api_clients (department_id);

-- Bearer tokens (kind 'bearer', an hour) and session handles (kind
-- 'session', 20 minutes idle) the gateway gave out, by hash.
CREATE TABLE gateway_tokens (
    hash       bytea       PRIMARY KEY,
    client_id  text        NOT NULL REFERENCES api_clients (id) ON DELETE CASCADE,
    kind       text        NOT NULL CHECK (kind IN ('bearer', 'session')),
    expires_at timestamptz NOT NULL
);
CREATE INDEX gateway_tokens_expiry ON gateway_tokens (expires_at);

-- The first answer to an action sent with an Idempotency-Key, for 24 hours.
-- A row without status is an action in flight.
CREATE TABLE gateway_idempotency (
    client_id  text        NOT NULL REFERENCES api_clients (id) ON DELETE CASCADE,
    key        text        NOT NULL,
    body_hash  bytea       NOT NULL,
    status     integer,
    body       bytea,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (client_id, key)
);
CREATE INDEX gateway_idempotency_created ON gateway_idempotency (created_at);

-- One token bucket per client, shared by every instance.
CREATE TABLE gateway_buckets (
    client_id  text             PRIMARY KEY REFERENCES api_clients (id) ON DELETE CASCADE,
    tokens     double precision NOT NULL,
    updated_at timestamptz      NOT NULL
);

-- +goose Down
DROP TABLE gateway_buckets;
DROP TABLE gateway_idempotency;
DROP TABLE gateway_tokens;
DROP TABLE api_clients;
