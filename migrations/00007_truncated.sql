-- A transcript of a recording that was cut short (its header or last frame promised
-- more than the stream held) is of the part that was there, and says so.

-- +goose Up
ALTER TABLE transcripts ADD COLUMN truncated boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE transcripts DROP COLUMN truncated;
