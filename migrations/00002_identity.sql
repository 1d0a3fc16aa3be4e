-- +goose Up
-- People, their roles, the group mappings that grant them, departments, and
-- server-side sessions.
CREATE TABLE departments (
    id               bigserial   PRIMARY KEY,
    slug             text        NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name             text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    protocol         text        NOT NULL DEFAULT 'rest' CHECK (protocol IN ('rest', 'soap')),
    max_age_days     integer     NOT NULL DEFAULT 90 CHECK (max_age_days BETWEEN 1 AND 3650),
    schedule_enabled boolean     NOT NULL DEFAULT true,
    reveal_allowed   boolean     NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id             bigserial   PRIMARY KEY,
    issuer         text        NOT NULL,
    subject        text        NOT NULL,
    name           text        NOT NULL DEFAULT '',
    email          text        NOT NULL DEFAULT '',
    groups         jsonb       NOT NULL DEFAULT '[]',
    disabled       boolean     NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_signin_at timestamptz,
    UNIQUE (issuer, subject)
);

-- The roles computed from the mappings at the user's last sign-in.
CREATE TABLE user_grants (
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       text   NOT NULL CHECK (role IN ('admin', 'auditor', 'lead', 'member')),
    department text   NOT NULL DEFAULT '',
    PRIMARY KEY (user_id, role, department)
);

CREATE TABLE group_mappings (
    id         bigserial   PRIMARY KEY,
    group_name text        NOT NULL CHECK (length(group_name) BETWEEN 1 AND 256),
    role       text        NOT NULL CHECK (role IN ('admin', 'auditor', 'lead', 'member')),
    department_id bigint   REFERENCES departments (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text        NOT NULL DEFAULT '',
    CHECK ((role IN ('lead', 'member')) = (department_id IS NOT NULL))
);
CREATE UNIQUE INDEX group_mappings_unique ON group_mappings (group_name, role, coalesce(department_id, 0));

-- Break-glass local admins (bcrypt hashes).
CREATE TABLE local_accounts (
    username      text        PRIMARY KEY CHECK (username ~ '^[A-Za-z0-9._-]{1,64}$'),
    password_hash text        NOT NULL,
    user_id       bigint      NOT NULL REFERENCES users (id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Failed break-glass attempts, for throttling per user and per address.
CREATE TABLE login_failures (
    id         bigserial   PRIMARY KEY,
    username   text        NOT NULL,
    source_ip  text        NOT NULL,
    failed_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_user_idx ON login_failures (username, failed_at);
CREATE INDEX login_failures_ip_idx ON login_failures (source_ip, failed_at);

-- scs pgxstore's table.
CREATE TABLE sessions (
    token  text        PRIMARY KEY,
    data   bytea       NOT NULL,
    expiry timestamptz NOT NULL
);
CREATE INDEX sessions_expiry_idx ON sessions (expiry);

-- +goose Down
DROP TABLE sessions;
DROP TABLE login_failures;
DROP TABLE local_accounts;
DROP TABLE group_mappings;
DROP TABLE user_grants;
DROP TABLE users;
DROP TABLE departments;
