-- A correction of a transcript leaves its summary written from the words before it: the
-- correction marks the summary stale in its own transaction, and regenerating it (when
-- consent to summarization is in force) clears the mark. The API shows the mark.

-- +goose Up
ALTER TABLE summaries ADD COLUMN stale boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE summaries DROP COLUMN stale;
