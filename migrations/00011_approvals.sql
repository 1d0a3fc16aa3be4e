-- +goose Up
-- Dual control: a department may require a second person's approval
-- before a person reveals its password, deactivates a device or rotates
-- now. All off by default, so nothing changes until an admin turns it on.
ALTER TABLE departments
    ADD COLUMN approve_reveal     boolean NOT NULL DEFAULT false,
    ADD COLUMN approve_deactivate boolean NOT NULL DEFAULT false,
    ADD COLUMN approve_rotate     boolean NOT NULL DEFAULT false;

-- One request for one action by one person, and its decision. Requester
-- and decider are audit actors (the user id as text), not foreign keys:
-- the audit trail, not this table, is the record of who they were.
-- An approval is spent by one conditional UPDATE (state approved → used)
-- in the transaction of the action, so it is valid once.
CREATE TABLE approvals (
    id             bigserial   PRIMARY KEY,
    department_id  bigint      NOT NULL REFERENCES departments (id) ON DELETE CASCADE,
    action         text        NOT NULL CHECK (action IN ('reveal', 'deactivate', 'rotate')),
    -- deactivate: the exact devices, "kind:id" sorted and joined by ","; else ''.
    devices        text        NOT NULL DEFAULT '',
    requester      text        NOT NULL CHECK (requester <> ''),
    requester_name text        NOT NULL DEFAULT '',
    reason         text        NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
    state          text        NOT NULL DEFAULT 'pending'
                               CHECK (state IN ('pending', 'approved', 'refused', 'expired', 'used')),
    requested_at   timestamptz NOT NULL,
    decided_by     text        NOT NULL DEFAULT '',
    decider_name   text        NOT NULL DEFAULT '',
    decided_at     timestamptz,
    note           text        NOT NULL DEFAULT '',
    -- pending: when the request lapses; approved: when the approval does.
    expires_at     timestamptz NOT NULL,
    used_at        timestamptz,
    -- Nobody decides their own request, whatever the code above says.
    CHECK (decided_by <> requester),
    CHECK ((action = 'deactivate') = (devices <> ''))
);

CREATE INDEX approvals_live ON approvals (expires_at) WHERE state IN ('pending', 'approved');
CREATE INDEX approvals_requester ON approvals (requester, id DESC);
CREATE INDEX approvals_department ON approvals (department_id, id DESC) WHERE state = 'pending';

-- +goose Down
DROP TABLE approvals;
ALTER TABLE departments
    DROP COLUMN approve_reveal,
    DROP COLUMN approve_deactivate,
    DROP COLUMN approve_rotate;
