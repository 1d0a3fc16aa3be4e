-- +goose Up
-- Which binaries may run against this schema. Migrations are expand-only
-- (a release's migrations never break the previous release's binary); a
-- contract migration (dropping or renaming what an older binary still
-- uses) runs in a later release, after every instance has moved on, and
-- raises min_binary to the oldest migration a binary must know. A binary
-- that knows less refuses to start and /readyz says why (README, Upgrades).
CREATE TABLE schema_compat (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    min_binary bigint  NOT NULL DEFAULT 0
);
INSERT INTO schema_compat DEFAULT VALUES;

-- +goose Down
DROP TABLE schema_compat;
