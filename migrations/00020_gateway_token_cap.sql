-- +goose Up
-- A bearer token or session handle obtained with a client's previous
-- secret (during a rotation's overlap) must stop when that secret stops:
-- not_after is that hard end, which a session handle's idle slide never
-- passes. NULL: bounded only by expires_at.
ALTER TABLE gateway_tokens ADD COLUMN not_after timestamptz;

-- +goose Down
ALTER TABLE gateway_tokens DROP COLUMN not_after;
