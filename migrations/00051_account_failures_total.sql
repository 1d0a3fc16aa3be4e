-- +goose Up
-- failures_total counts every failed login recorded for the account and
-- never goes back: a mark to measure from. An administrator's statement
-- that Verizon reset the count ("claim", see 00013) starts its tally at
-- the failures recorded since the administrator opened the form (read
-- the mark then), not since the submission: a failure that lands after
-- Verizon's reset but before the statement reaches the portal counts.
-- Adding a column with a constant default rewrites no rows.
ALTER TABLE upstream_accounts
    ADD COLUMN failures_total bigint NOT NULL DEFAULT 0 CHECK (failures_total >= 0);

-- +goose Down
ALTER TABLE upstream_accounts DROP COLUMN failures_total;
