-- Redaction (invariant 9): every organization redacts personal data from transcripts by
-- default; redaction_off lists the entity types an organization turned off. A transcript
-- records how many entities of each type were replaced (counts, never values).

-- +goose Up
ALTER TABLE organizations ADD COLUMN redaction_off text[] NOT NULL DEFAULT '{}';
ALTER TABLE transcripts ADD COLUMN redactions jsonb NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE transcripts DROP COLUMN redactions;
ALTER TABLE organizations DROP COLUMN redaction_off;
