-- An organization's redaction replacement: empty (the default) replaces each entity with
-- its type's tag ([CARD], [PHONE], …); otherwise every entity with this fixed mask.

-- +goose Up
ALTER TABLE organizations ADD COLUMN redaction_mask text NOT NULL DEFAULT ''
    CHECK (length(redaction_mask) <= 32);

-- +goose Down
ALTER TABLE organizations DROP COLUMN redaction_mask;
