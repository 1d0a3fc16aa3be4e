-- +goose Up
-- A key-check value per master key ID: a known constant sealed under that
-- key. At start and in /readyz the portal proves it holds every key that
-- sealed data in this database (each key_id column names a master key) and
-- that each opens its check value, and refuses to serve, naming the key ID
-- it lacks, before the first decrypt would fail.
CREATE TABLE key_checks (
    key_id     text        PRIMARY KEY,
    check_value bytea      NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE key_checks;
