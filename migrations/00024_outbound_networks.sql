-- +goose Up
-- Private networks that notification targets (and later API clients'
-- callback URLs) may reach, each named by the administrator who allowed
-- it. Without a row here, loopback, link-local, private and other
-- special-purpose addresses are refused when a connection is made.
CREATE TABLE outbound_networks (
    id         bigserial   PRIMARY KEY,
    name       text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    network    cidr        NOT NULL UNIQUE,
    added_by   text        NOT NULL,
    added_at   timestamptz NOT NULL
);

-- +goose Down
DROP TABLE outbound_networks;
