-- The service: API keys per organization, emails unique per organization, and what an
-- upload says of its call (the client's id for it, when it started, how to read raw audio).
-- An API key's secret is never stored: only its sha256 (keys are 32 random bytes, so a
-- plain hash is enough) and a short prefix to recognise it by in listings.

-- +goose Up
CREATE TABLE api_keys (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    hash            bytea NOT NULL CHECK (length(hash) = 32),
    prefix          text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz
);
CREATE INDEX api_keys_organization_id_idx ON api_keys (organization_id);

DROP INDEX users_email_key;
CREATE UNIQUE INDEX users_organization_email_key ON users (organization_id, lower(email));
CREATE INDEX users_email_idx ON users (lower(email));

ALTER TABLE calls
    ADD COLUMN external_id text CHECK (external_id <> ''),
    ADD COLUMN started_at  timestamptz,
    ADD COLUMN raw_format  jsonb;
-- One call per client id in an organization: a repeated upload finds the first.
CREATE UNIQUE INDEX calls_external_id_key ON calls (organization_id, external_id) WHERE external_id IS NOT NULL;
-- The read API's listing: newest first, keyset paging on (created_at, id).
CREATE INDEX calls_organization_created_idx ON calls (organization_id, created_at DESC, id DESC);

-- +goose Down
DROP INDEX calls_organization_created_idx;
DROP INDEX calls_external_id_key;
ALTER TABLE calls DROP COLUMN raw_format, DROP COLUMN started_at, DROP COLUMN external_id;
DROP INDEX users_email_idx;
DROP INDEX users_organization_email_key;
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
DROP TABLE api_keys;
