-- +goose Up
-- Notifications. An event that deserves one writes a row to notify_outbox in
-- the same transaction as the event (its audit event, or the scan that found
-- a credential due). A worker on every instance fans each row out to one
-- delivery per channel and person, then sends deliveries it claims with a
-- lease (one sender per message; another instance takes over after the
-- lease if the sender died), retrying with back-off: at least once, and
-- never twice for the same event and destination unless a sender died
-- between sending and recording it.

-- Where notifications go. The target (a Slack or Teams URL holds its own
-- secret) and a webhook's signing secret are sealed under the master key;
-- target_shown is the redacted form pages show.
CREATE TABLE notify_channels (
    id                   bigserial   PRIMARY KEY,
    kind                 text        NOT NULL CHECK (kind IN ('webhook', 'slack', 'teams', 'email')),
    key_id               text        NOT NULL,
    target_sealed        bytea       NOT NULL,
    secret_sealed        bytea,
    target_shown         text        NOT NULL,
    -- NULL: portal-wide (every department's events and the portal's own).
    department_id        bigint      REFERENCES departments (id) ON DELETE CASCADE,
    -- Empty: every event.
    events               text[]      NOT NULL DEFAULT '{}',
    created_by           text        NOT NULL,
    created_at           timestamptz NOT NULL,
    consecutive_failures integer     NOT NULL DEFAULT 0,
    last_error           text        NOT NULL DEFAULT '',
    last_failure_at      timestamptz,
    last_success_at      timestamptz
);

CREATE TABLE notify_outbox (
    id            bigserial   PRIMARY KEY,
    event         text        NOT NULL,
    -- One row per cause: 'audit:<event id>', or a scan's key (a credential
    -- due for one password, an API client expiring at one time).
    dedupe_key    text        NOT NULL UNIQUE,
    department    text        NOT NULL DEFAULT '',
    subject       text        NOT NULL,
    body          text        NOT NULL,
    link          text        NOT NULL DEFAULT '',
    fields        jsonb       NOT NULL DEFAULT '{}',
    -- People told besides the department's leads (a requester), and people
    -- not told (the requester of an approval).
    recipients    bigint[]    NOT NULL DEFAULT '{}',
    exclude       bigint[]    NOT NULL DEFAULT '{}',
    occurred_at   timestamptz NOT NULL,
    fanned_out_at timestamptz
);
CREATE INDEX notify_outbox_unfanned ON notify_outbox (id) WHERE fanned_out_at IS NULL;

-- One message to one channel, or to one person by email.
CREATE TABLE notify_deliveries (
    id              bigserial   PRIMARY KEY,
    outbox_id       bigint      NOT NULL REFERENCES notify_outbox (id) ON DELETE CASCADE,
    channel_id      bigint      REFERENCES notify_channels (id) ON DELETE CASCADE,
    user_id         bigint      REFERENCES users (id) ON DELETE CASCADE,
    state           text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    claimed_until   timestamptz,
    last_error      text        NOT NULL DEFAULT '',
    sent_at         timestamptz,
    CHECK ((channel_id IS NULL) <> (user_id IS NULL))
);
CREATE UNIQUE INDEX notify_deliveries_once ON notify_deliveries (outbox_id, coalesce(channel_id, 0), coalesce(user_id, 0));
CREATE INDEX notify_deliveries_due ON notify_deliveries (next_attempt_at, id) WHERE state = 'pending';

-- +goose Down
DROP TABLE notify_deliveries;
DROP TABLE notify_outbox;
DROP TABLE notify_channels;
