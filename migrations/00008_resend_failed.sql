-- A call that ended failed may be sent again under its external id: the new upload is a
-- new call (its own staging, job and receipt) linked to the failed one by retry_of. So
-- an external id names at most one call that has not failed (the unique index now
-- leaves failed calls out), and any number of failed ones before it.

-- +goose Up
ALTER TABLE calls ADD COLUMN retry_of uuid REFERENCES calls (id) ON DELETE SET NULL;
DROP INDEX calls_external_id_key;
CREATE UNIQUE INDEX calls_external_id_key ON calls (organization_id, external_id)
    WHERE external_id IS NOT NULL AND status <> 'failed';
-- Finds the failed calls of an external id (and the live one) for a repeat.
CREATE INDEX calls_external_id_all ON calls (organization_id, external_id, created_at)
    WHERE external_id IS NOT NULL;

-- +goose Down
DROP INDEX calls_external_id_all;
DROP INDEX calls_external_id_key;
-- Only the latest call of each external id keeps it: the older (failed) ones lose it.
UPDATE calls c SET external_id = NULL
WHERE external_id IS NOT NULL AND EXISTS (
    SELECT 1 FROM calls n WHERE n.organization_id = c.organization_id AND n.external_id = c.external_id
      AND (n.created_at, n.id) > (c.created_at, c.id));
CREATE UNIQUE INDEX calls_external_id_key ON calls (organization_id, external_id) WHERE external_id IS NOT NULL;
ALTER TABLE calls DROP COLUMN retry_of;
