-- +goose Up
-- People operate their department's devices through the portal: the
-- department's ThingSpace account, and who may do which operation.
ALTER TABLE departments ADD COLUMN account_name text NOT NULL DEFAULT ''
    CHECK (account_name = '' OR account_name ~ '^[0-9]{10}-[0-9]{5}$');

-- A row allows one role one operation on one department's devices; no row,
-- no permission (admins may do everything, auditors nothing, whatever the
-- rows say).
CREATE TABLE device_policies (
    department_id bigint NOT NULL REFERENCES departments (id) ON DELETE CASCADE,
    role          text   NOT NULL CHECK (role IN ('lead', 'member')),
    operation     text   NOT NULL CHECK (operation IN ('list', 'suspend', 'restore', 'activate', 'plan', 'deactivate')),
    PRIMARY KEY (department_id, role, operation)
);

-- Existing departments get the default policy.
INSERT INTO device_policies (department_id, role, operation)
SELECT d.id, p.role, p.operation FROM departments d CROSS JOIN (VALUES
    ('member', 'list'),
    ('lead', 'list'), ('lead', 'suspend'), ('lead', 'restore'), ('lead', 'activate'), ('lead', 'plan'), ('lead', 'deactivate')
) AS p (role, operation);

-- +goose Down
DROP TABLE device_policies;
ALTER TABLE departments DROP COLUMN account_name;
