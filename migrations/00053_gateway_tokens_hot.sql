-- +goose Up
-- Every gateway call slides its session handle's idle expiry. With an index
-- on expires_at that update could never be a heap-only (HOT) update: each
-- call added an entry to the primary key and one to the expiry index, wrote
-- WAL for both and left index versions for vacuum to remove. The expiry
-- index goes (the periodic sweep reads this small table whole), an index on
-- client_id serves the per-client deletes (revocation, a new token) and the
-- cascade from api_clients, and pages keep room for the slides' versions.
CREATE INDEX IF NOT EXISTS gateway_tokens_client ON gateway_tokens (client_id);
DROP INDEX IF EXISTS gateway_tokens_expiry;
ALTER TABLE gateway_tokens SET (fillfactor = 70);

-- +goose Down
ALTER TABLE gateway_tokens RESET (fillfactor);
CREATE INDEX IF NOT EXISTS gateway_tokens_expiry ON gateway_tokens (expires_at);
DROP INDEX IF EXISTS gateway_tokens_client;
