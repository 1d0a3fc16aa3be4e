-- +goose Up
-- A ceiling on the calls per second a department's API clients together
-- send to ThingSpace through the gateway, whatever their number: set by an
-- admin (no row: the portal's default), enforced by one token bucket per
-- department shared by every instance.
CREATE TABLE gateway_ceilings (
    department_id bigint           PRIMARY KEY REFERENCES departments (id) ON DELETE CASCADE,
    per_second    double precision NOT NULL CHECK (per_second > 0 AND per_second <= 1000),
    set_by        text             NOT NULL,
    set_at        timestamptz      NOT NULL
);

CREATE TABLE gateway_department_buckets (
    department_id bigint           PRIMARY KEY REFERENCES departments (id) ON DELETE CASCADE,
    tokens        double precision NOT NULL,
    updated_at    timestamptz      NOT NULL
);

-- +goose Down
DROP TABLE gateway_department_buckets;
DROP TABLE gateway_ceilings;
