-- +goose Up
-- Every device action sent upstream, followed to its end. ThingSpace
-- answers an action with a request id only; the outcome comes later, by a
-- CarrierService callback or a status read (poll).
CREATE TABLE device_requests (
    id            bigserial   PRIMARY KEY,
    -- ThingSpace's request id; NULL when the send's answer was lost.
    request_id    text        UNIQUE CHECK (request_id <> ''),
    department_id bigint      NOT NULL REFERENCES departments (id) ON DELETE CASCADE,
    account_name  text        NOT NULL,
    -- Who asked: the audit actor (user id, cli:<user>, api-client:<id>).
    actor         text        NOT NULL CHECK (actor <> ''),
    actor_name    text        NOT NULL DEFAULT '',
    user_id       bigint,
    client_id     text,
    operation     text        NOT NULL,
    -- "kind:id" of each device, in the order sent.
    devices       text[]      NOT NULL,
    sent_at       timestamptz NOT NULL,
    status        text        NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'unknown')),
    ended_at      timestamptz,
    ended_by      text        NOT NULL DEFAULT '' CHECK (ended_by IN ('', 'answer', 'callback', 'poll')),
    fault         text        NOT NULL DEFAULT '',
    -- The audit event that recorded the send; completion events link to it.
    first_event   bigint      NOT NULL,
    polls         integer     NOT NULL DEFAULT 0,
    -- When to read its status next (NULL: never again).
    next_poll_at  timestamptz,
    -- A poller's claim: another instance leaves the row alone until then.
    claimed_until timestamptz
);
CREATE INDEX device_requests_due ON device_requests (next_poll_at) WHERE next_poll_at IS NOT NULL;
CREATE INDEX device_requests_department ON device_requests (department_id, sent_at DESC);
CREATE INDEX device_requests_lost ON device_requests (account_name, sent_at) WHERE request_id IS NULL;

-- Callback messages whose request id the portal had not recorded when they
-- came: a change made outside the API, or a callback that overtook the
-- transaction recording its own send (which applies it when it commits).
CREATE TABLE callback_inbox (
    request_id   text        PRIMARY KEY,
    account_name text        NOT NULL,
    status       text        NOT NULL CHECK (status IN ('succeeded', 'failed')),
    fault        text        NOT NULL DEFAULT '',
    devices      text[]      NOT NULL,
    received_at  timestamptz NOT NULL,
    audit_event  bigint      NOT NULL,
    -- The device request it was later found to belong to.
    matched      bigint      REFERENCES device_requests (id) ON DELETE SET NULL
);

-- The portal's own CarrierService listener per department account: the
-- random username and password ThingSpace echoes in every message, the
-- password sealed under the master key (bound to the department's id).
CREATE TABLE callback_listeners (
    department_id   bigint      PRIMARY KEY REFERENCES departments (id) ON DELETE CASCADE,
    account_name    text        NOT NULL,
    url             text        NOT NULL,
    username        text        NOT NULL UNIQUE,
    key_id          text        NOT NULL,
    password_sealed bytea       NOT NULL,
    registered_at   timestamptz NOT NULL,
    registered_by   text        NOT NULL
);

-- An API client's own listener (registered through the gateway; nothing
-- is forwarded upstream). Its optional username and password are echoed
-- in the bodies the portal sends it; the password is sealed.
CREATE TABLE client_listeners (
    client_id       text        PRIMARY KEY REFERENCES api_clients (id) ON DELETE CASCADE,
    service_name    text        NOT NULL DEFAULT 'CarrierService',
    url             text        NOT NULL,
    username        text        NOT NULL DEFAULT '',
    key_id          text        NOT NULL DEFAULT '',
    password_sealed bytea,
    created_at      timestamptz NOT NULL
);

-- One message to send to a client's listener: the outcome of one of its
-- requests. The body is built at send time (the client's credentials are
-- never stored in clear); retried with back-off until a 2xx or a day.
CREATE TABLE client_callbacks (
    id            bigserial   PRIMARY KEY,
    client_id     text        NOT NULL REFERENCES api_clients (id) ON DELETE CASCADE,
    request       bigint      NOT NULL REFERENCES device_requests (id) ON DELETE CASCADE,
    state         text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    attempts      integer     NOT NULL DEFAULT 0,
    next_at       timestamptz NOT NULL,
    claimed_until timestamptz,
    last_error    text        NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL,
    UNIQUE (client_id, request)
);
CREATE INDEX client_callbacks_due ON client_callbacks (next_at) WHERE state = 'pending';

-- +goose Down
DROP TABLE client_callbacks;
DROP TABLE client_listeners;
DROP TABLE callback_listeners;
DROP TABLE callback_inbox;
DROP TABLE device_requests;
