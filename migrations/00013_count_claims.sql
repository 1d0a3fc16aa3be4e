-- +goose Up
-- An administrator's statement that Verizon reset an account's failed-login
-- count (a "claim") lets a verification login pass the portal's hard cap.
-- claim_failures counts the failed logins made since the first claim after
-- the last successful login (NULL: no claim since then). Claims never reset
-- it, only a successful login does, so repeating a claim buys nothing: at
-- most the attempts ThingSpace's own count allows.
ALTER TABLE upstream_accounts
    ADD COLUMN claim_failures integer CHECK (claim_failures >= 0);

-- +goose Down
ALTER TABLE upstream_accounts DROP COLUMN claim_failures;
