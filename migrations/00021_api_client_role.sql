-- +goose Up
-- A client may do, at each call, only the operations it was given that the
-- department's policy still grants to the role of the person who made it:
-- owner_role is that role (an admin's clients follow no policy, as admins
-- do not; a lead's follow the policy for leads). Existing clients: made
-- from the command line or by a global admin are admin's; the rest lead's,
-- the narrower reading.
ALTER TABLE api_clients ADD COLUMN owner_role text NOT NULL DEFAULT 'lead' CHECK (owner_role IN ('admin', 'lead'));
UPDATE api_clients SET owner_role = 'admin'
 WHERE created_by LIKE 'cli:%'
    OR created_by IN (SELECT user_id::text FROM user_grants WHERE role = 'admin' AND department = '');

-- +goose Down
ALTER TABLE api_clients DROP COLUMN owner_role;
