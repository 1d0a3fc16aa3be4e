-- +goose Up
-- Anonymous failures (sign-in attempts nobody is behind yet) are written to
-- the audit trail once per code, client address and window; the rest of the
-- window only counts here, and the count is appended as a summary event
-- when the window is flushed. Anyone can cause such failures, so one row
-- each would let anyone grow the append-only trail without limit.
CREATE TABLE audit_windows (
    code         text        NOT NULL,
    source       text        NOT NULL,
    window_start timestamptz NOT NULL,
    count        bigint      NOT NULL CHECK (count >= 1),
    first_event  bigint      NOT NULL,
    PRIMARY KEY (code, source)
);
CREATE INDEX audit_windows_start_idx ON audit_windows (window_start);

-- +goose Down
DROP TABLE audit_windows;
