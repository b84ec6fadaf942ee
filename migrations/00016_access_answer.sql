-- How an organization answers a completed access request in the messenger: 'file' (the
-- default) sends the export JSON as a document in the chat; 'link' sends only a link to
-- the privacy desk. Email always carries the link only.

-- +goose Up
ALTER TABLE organizations ADD COLUMN access_answer text NOT NULL DEFAULT 'file'
    CHECK (access_answer IN ('file', 'link'));

-- +goose Down
ALTER TABLE organizations DROP COLUMN access_answer;
