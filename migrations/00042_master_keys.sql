-- +goose Up
-- The master keys wrapped by a KMS key (UWSPORTAL_MASTER_KEY_KMS), when
-- they are kept in the database rather than in a file: position 0 is the
-- current key. Useless without the KMS: each row is the KMS's ciphertext.
CREATE TABLE master_keys (
    position   integer     PRIMARY KEY CHECK (position >= 0),
    key_id     text        NOT NULL UNIQUE,
    wrapped    text        NOT NULL,
    kms        text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE master_keys;
