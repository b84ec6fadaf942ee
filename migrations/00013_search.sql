-- Full-text search in Russian and English, and the other party's phone number.
--
-- Every tsvector and tsquery names the 'russian' configuration (callscribe.SearchConfig):
-- it stems Cyrillic with the Russian Snowball stemmer and Latin words with the English
-- one, so one configuration serves a mixed call. The cluster's default (English) is never
-- relied on. Two generated columns, one path: a call matches when its transcript does
-- (transcripts.search: "-word" excludes a call that says the word anywhere, a phrase may
-- cross two turns), and the hits shown for it are its segments that match
-- (segments.search). Both are generated from the text, so a rectified segment, and the
-- transcript text rebuilt from it in the same transaction, are searchable as corrected at
-- once, and an erased subject's rows take their index entries with them.
--
-- Row-level security is untouched: the new columns live in tables whose policy
-- (00006_rls.sql) already admits a row only to its organization's scope, and an index
-- scan is filtered by that policy like any other.
--
-- Cost on a large database: adding a stored generated column rewrites the table under an
-- ACCESS EXCLUSIVE lock (reads and writes of segments wait). Measured on the search
-- benchmark's organization (scripts/searchbench: 100,000 calls, 2,000,000 segments of
-- Russian and English text, 2 cores): see README "Search" for the figure; plan the
-- upgrade in a quiet hour.

-- +goose Up
ALTER TABLE calls ADD COLUMN phone text CHECK (phone ~ '^\+[1-9][0-9]{6,14}$');
CREATE INDEX calls_phone_idx ON calls (organization_id, phone, created_at DESC, id DESC) WHERE phone IS NOT NULL;

ALTER TABLE transcripts DROP COLUMN search; -- 'simple': no stemming; its index goes with it
ALTER TABLE transcripts ADD COLUMN search tsvector GENERATED ALWAYS AS (to_tsvector('russian'::regconfig, text)) STORED;
CREATE INDEX transcripts_search_idx ON transcripts USING gin (search);

ALTER TABLE segments ADD COLUMN search tsvector GENERATED ALWAYS AS (to_tsvector('russian'::regconfig, text)) STORED;
CREATE INDEX segments_search_idx ON segments USING gin (search);

-- +goose Down
DROP INDEX segments_search_idx;
ALTER TABLE segments DROP COLUMN search;
ALTER TABLE transcripts DROP COLUMN search;
ALTER TABLE transcripts ADD COLUMN search tsvector GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED;
CREATE INDEX transcripts_search_idx ON transcripts USING gin (search);
DROP INDEX calls_phone_idx;
ALTER TABLE calls DROP COLUMN phone;
