-- +goose Up
-- When the audit chain was last verified automatically: every instance
-- watches, and the one whose conditional UPDATE moves this forward runs the
-- verification, so it runs once per period across instances.
CREATE TABLE audit_watch (
    singleton        boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    last_verified_at timestamptz NOT NULL
);
INSERT INTO audit_watch (last_verified_at) VALUES ('-infinity');

-- +goose Down
DROP TABLE audit_watch;
